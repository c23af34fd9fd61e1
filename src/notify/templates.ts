/**
 * The text of notifications, in French and English (both in every mail, the
 * patient's preferred language first). Says who acted, when, what kind of
 * action and in which mode — never which data, codes or resource types, and
 * never the free-text break-glass reason (the history shows it to the patient).
 */
import type { Language } from './recipients';

export interface NotificationItem {
  recorded: Date;
  agent: string; // Practitioner/P, RelatedPerson/R, Patient/Y, client:<sub>
  agentName?: string;
  action: string; // C R U D E
  outcome: number; // 0 4 8
  purpose: string | null; // TREAT ETREAT BTG
}

export interface RenderedMail {
  subject: string;
  text: string;
}

interface Wording {
  subject: { single: string; digest: (n: number) => string; emergency: string };
  intro: { single: string; digest: (n: number) => string; emergency: string };
  who: { practitioner: string; representative: string; patient: string; system: (id: string) => string };
  did: Record<'R' | 'C' | 'U' | 'D', string>;
  refused: string;
  failed: string;
  purpose: Record<'ETREAT' | 'BTG', string>;
  when: (date: Date) => string;
  outro: string[];
}

const TIME_ZONE = 'Europe/Paris';

const WORDING: Record<Language, Wording> = {
  fr: {
    subject: {
      single: 'Nouvelle activité sur votre espace santé',
      digest: (n) => `${n} nouvelles activités sur votre espace santé`,
      emergency: 'Accès en urgence à votre espace santé',
    },
    intro: {
      single: 'Bonjour,\n\nUne action a été effectuée sur votre espace santé Carnet par une autre personne que vous :',
      digest: (n) => `Bonjour,\n\n${n} actions ont été effectuées sur votre espace santé Carnet par d'autres personnes que vous :`,
      emergency: 'Bonjour,\n\nVotre espace santé Carnet a fait l\u2019objet d\u2019un accès en urgence :',
    },
    who: { practitioner: 'un professionnel de santé', representative: 'votre représentant légal', patient: 'une autre personne', system: (id) => `le système d\u2019information « ${id} »` },
    did: { R: 'a consulté votre espace santé', C: 'a ajouté un élément à votre espace santé', U: 'a modifié un élément de votre espace santé', D: 'a supprimé un élément de votre espace santé' },
    refused: 'a tenté d\u2019accéder à votre espace santé (accès refusé)',
    failed: 'a tenté d\u2019accéder à votre espace santé (la demande n\u2019a pas abouti)',
    purpose: { ETREAT: ', dans le cadre d\u2019une régulation d\u2019urgence (SAMU)', BTG: ', en « bris de glace » (accès d\u2019urgence)' },
    when: (date) => `le ${new Intl.DateTimeFormat('fr-FR', { timeZone: TIME_ZONE, dateStyle: 'long' }).format(date)} à ${new Intl.DateTimeFormat('fr-FR', { timeZone: TIME_ZONE, timeStyle: 'short' }).format(date)}`,
    outro: [
      'Le détail se trouve dans l\u2019historique d\u2019activité de votre espace Carnet.',
      'Si vous ne reconnaissez pas cet accès, vous pouvez bloquer ce professionnel depuis votre espace.',
      'Ce message est envoyé automatiquement, merci de ne pas y répondre.',
    ],
  },
  en: {
    subject: {
      single: 'New activity on your health space',
      digest: (n) => `${n} new activities on your health space`,
      emergency: 'Emergency access to your health space',
    },
    intro: {
      single: 'Hello,\n\nSomeone other than you acted on your Carnet health space:',
      digest: (n) => `Hello,\n\n${n} actions were performed on your Carnet health space by people other than you:`,
      emergency: 'Hello,\n\nYour Carnet health space was accessed in an emergency:',
    },
    who: { practitioner: 'a health professional', representative: 'your legal representative', patient: 'another person', system: (id) => `the information system "${id}"` },
    did: { R: 'viewed your health space', C: 'added an item to your health space', U: 'changed an item in your health space', D: 'deleted an item from your health space' },
    refused: 'tried to access your health space (refused)',
    failed: 'tried to access your health space (the request did not complete)',
    purpose: { ETREAT: ', as part of emergency medical regulation (SAMU)', BTG: ', using "break-glass" emergency access' },
    when: (date) => `on ${new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, dateStyle: 'long' }).format(date)} at ${new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, timeStyle: 'short' }).format(date)} (Paris time)`,
    outro: [
      'The details are in the activity history of your Carnet space.',
      'If you do not recognise this access, you can block this professional from your space.',
      'This message is sent automatically; please do not reply.',
    ],
  },
};

function who(wording: Wording, item: NotificationItem): string {
  if (item.agentName) return item.agentName;
  if (item.agent.startsWith('Practitioner/')) return wording.who.practitioner;
  if (item.agent.startsWith('RelatedPerson/')) return wording.who.representative;
  if (item.agent.startsWith('client:')) return wording.who.system(item.agent.slice('client:'.length));
  return wording.who.patient;
}

function did(wording: Wording, item: NotificationItem): string {
  if (item.outcome === 4) return wording.refused;
  if (item.outcome !== 0) return wording.failed;
  const action = item.action === 'E' ? 'R' : (item.action as keyof Wording['did']);
  return wording.did[action] ?? wording.did.R;
}

function line(wording: Wording, item: NotificationItem): string {
  const purpose = item.purpose === 'ETREAT' || item.purpose === 'BTG' ? wording.purpose[item.purpose] : '';
  return `- ${wording.when(item.recorded)}, ${who(wording, item)} ${did(wording, item)}${purpose}.`;
}

function section(language: Language, items: NotificationItem[], emergency: boolean): string {
  const wording = WORDING[language];
  const intro = emergency ? wording.intro.emergency : items.length === 1 ? wording.intro.single : wording.intro.digest(items.length);
  return [intro, '', ...items.map((item) => line(wording, item)), '', ...wording.outro].join('\n');
}

function subject(language: Language, count: number, emergency: boolean): string {
  const s = WORDING[language].subject;
  return emergency ? s.emergency : count === 1 ? s.single : s.digest(count);
}

/** One mail for these items (one action, or a patient's digest), both languages, `language` first. */
export function renderNotification(items: NotificationItem[], language: Language, emergency: boolean): RenderedMail {
  const sorted = [...items].sort((a, b) => a.recorded.getTime() - b.recorded.getTime());
  const order: Language[] = language === 'en' ? ['en', 'fr'] : ['fr', 'en'];
  return {
    subject: `Carnet : ${subject(order[0], sorted.length, emergency)} / ${subject(order[1], sorted.length, emergency)}`,
    text: order.map((lang) => section(lang, sorted, emergency)).join('\n\n----------------------------------------\n\n'),
  };
}
