/**
 * The text of account messages (CONTRACT §7), in French (the default) or English, one language
 * per message: a subject and plain text for email and letter, one short line for SMS. Says the
 * code and its expiry where the template has them, and nothing of the person's health data.
 * Pure: never reads the clock, the database or the environment; throws UnrenderableMessage when a code
 * template lacks its code (the worker then fails the message instead of sending "undefined").
 */
import type { MessageChannel, MessageLanguage, MessageTemplate } from './account-message';

export interface RenderedMessage {
  subject: string;
  text: string;
}

export class UnrenderableMessage extends Error {
  constructor(readonly missing: string) {
    super(`account message: the template needs ${missing}`);
  }
}

type Params = Record<string, string>;

interface Wording {
  subject: string;
  body: string[];
  /** The SMS: its first sentence without the final stop (a code's expiry follows it), then the rest. */
  sms: [string, string?];
}

interface Language {
  templates: Record<MessageTemplate, (p: Params) => Wording>;
  /** Before the subject and the SMS (French puts a space before the colon). */
  brand: string;
  hello: string;
  automatic: string;
  signature: string;
  /** The expiry of a code: a sentence of its own (email, letter), a parenthesis (SMS). */
  validUntil: (when: string) => string;
  smsUntil: (when: string) => string;
  /** An ISO instant in the person's words, Paris time; undefined when it is not one. */
  when: (iso: string | undefined) => string | undefined;
}

const TIME_ZONE = 'Europe/Paris';

function instant(locale: string, at: string, suffix: string) {
  return (iso: string | undefined): string | undefined => {
    const date = iso === undefined ? undefined : new Date(iso);
    if (!date || Number.isNaN(date.getTime())) return undefined;
    const day = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, dateStyle: 'long' }).format(date);
    const time = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, timeStyle: 'short' }).format(date);
    return `${day} ${at} ${time}${suffix}`;
  };
}

const code = (p: Params): string => {
  if (!p.code) throw new UnrenderableMessage('code');
  return p.code;
};

const NOT_YOU_FR = 'Si vous n\u2019êtes pas à l\u2019origine de cette demande, ignorez ce message.';
const NOT_YOU_EN = 'If you did not ask for this, ignore this message.';
const CHANGED_FR = 'Si vous n\u2019êtes pas à l\u2019origine de ce changement, connectez-vous à votre espace pour changer votre mot de passe, ou contactez l\u2019assistance Carnet.';
const CHANGED_EN = 'If you did not make this change, log in to your space to change your password, or contact Carnet support.';

const FR: Language = {
  brand: 'Carnet : ',
  hello: 'Bonjour,',
  automatic: 'Ce message est envoyé automatiquement, merci de ne pas y répondre.',
  signature: 'Carnet, votre espace santé',
  validUntil: (when) => `Il est valable jusqu\u2019au ${when}.`,
  smsUntil: (when) => ` (valable jusqu\u2019au ${when})`,
  when: instant('fr-FR', 'à', ''),
  templates: {
    'enrolment-code': (p) => ({
      subject: 'Votre code provisoire pour votre espace santé',
      body: [
        `Un espace santé Carnet a été créé à votre nom. Votre code provisoire : ${code(p)}`,
        'Avec ce code, votre numéro de sécurité sociale et le numéro de série de votre carte Vitale, vous pouvez activer votre espace, ou vous opposer à son ouverture. Sans opposition de votre part, il s\u2019ouvrira de lui-même à cette date.',
      ],
      sms: [`votre code provisoire est ${code(p)}`],
    }),
    'login-code': (p) => ({
      subject: 'Votre code de connexion',
      body: [`Votre code de connexion à votre espace santé : ${code(p)}`, 'Ne le communiquez à personne.', NOT_YOU_FR],
      sms: [`votre code de connexion est ${code(p)}`, `Ne le communiquez à personne.`],
    }),
    'reset-code': (p) => ({
      subject: 'Réinitialisation de votre mot de passe',
      body: [`Votre code pour choisir un nouveau mot de passe : ${code(p)}`, 'Ne le communiquez à personne.', `${NOT_YOU_FR} Votre mot de passe reste inchangé.`],
      sms: [`votre code de réinitialisation du mot de passe est ${code(p)}`, `Ne le communiquez à personne.`],
    }),
    'contact-code': (p) => ({
      subject: 'Confirmez vos nouvelles coordonnées',
      body: [`Votre code pour confirmer ces coordonnées pour votre espace santé : ${code(p)}`, NOT_YOU_FR],
      sms: [`votre code de confirmation de ce numéro est ${code(p)}`],
    }),
    'contact-changed': () => ({
      subject: 'Vos coordonnées ont changé',
      body: ['Les coordonnées de contact de votre espace santé viennent d\u2019être modifiées.', CHANGED_FR],
      sms: ['les coordonnées de votre espace santé ont été modifiées', 'Pas vous ? Changez votre mot de passe.'],
    }),
    'password-changed': () => ({
      subject: 'Votre mot de passe a changé',
      body: ['Le mot de passe de votre espace santé vient d\u2019être changé.', CHANGED_FR],
      sms: ['le mot de passe de votre espace santé a été changé', 'Pas vous ? Contactez l\u2019assistance.'],
    }),
    'opening-notice': () => ({
      subject: 'Votre espace santé est ouvert',
      body: [
        'Votre espace santé Carnet, créé à votre nom, s\u2019est ouvert sans opposition de votre part : les professionnels qui vous soignent peuvent y déposer vos documents.',
        'Activez-le avec votre code provisoire pour le consulter et choisir qui y accède. Vous pouvez aussi le fermer à tout moment.',
      ],
      sms: ['votre espace santé est ouvert', 'Activez-le pour choisir qui y accède.'],
    }),
    'space-closed': () => ({
      subject: 'Votre espace santé est fermé',
      body: ['Votre espace santé Carnet a été fermé : plus personne n\u2019accède à vos données. Elles sont conservées dix ans, puis supprimées.', 'Si vous n\u2019êtes pas à l\u2019origine de cette fermeture, contactez l\u2019assistance Carnet.'],
      sms: ['votre espace santé a été fermé'],
    }),
  },
};

const EN: Language = {
  brand: 'Carnet: ',
  hello: 'Hello,',
  automatic: 'This message is sent automatically; please do not reply.',
  signature: 'Carnet, your health space',
  validUntil: (when) => `It is valid until ${when}.`,
  smsUntil: (when) => ` (valid until ${when})`,
  when: instant('en-GB', 'at', ' (Paris time)'),
  templates: {
    'enrolment-code': (p) => ({
      subject: 'Your provisional code for your health space',
      body: [
        `A Carnet health space was created in your name. Your provisional code: ${code(p)}`,
        'With this code, your social security number and the serial number of your Vitale card, you can activate your space, or oppose its opening. Unless you oppose it, it opens by itself on that date.',
      ],
      sms: [`your provisional code is ${code(p)}`],
    }),
    'login-code': (p) => ({
      subject: 'Your login code',
      body: [`Your code to log in to your health space: ${code(p)}`, 'Do not share it with anyone.', NOT_YOU_EN],
      sms: [`your login code is ${code(p)}`, `Do not share it with anyone.`],
    }),
    'reset-code': (p) => ({
      subject: 'Resetting your password',
      body: [`Your code to choose a new password: ${code(p)}`, 'Do not share it with anyone.', `${NOT_YOU_EN} Your password stays as it is.`],
      sms: [`your password reset code is ${code(p)}`, `Do not share it with anyone.`],
    }),
    'contact-code': (p) => ({
      subject: 'Confirm your new contact details',
      body: [`Your code to confirm these contact details for your health space: ${code(p)}`, NOT_YOU_EN],
      sms: [`your code to confirm this number is ${code(p)}`],
    }),
    'contact-changed': () => ({
      subject: 'Your contact details changed',
      body: ['The contact details of your health space have just been changed.', CHANGED_EN],
      sms: ['the contact details of your health space changed', 'Not you? Change your password.'],
    }),
    'password-changed': () => ({
      subject: 'Your password changed',
      body: ['The password of your health space has just been changed.', CHANGED_EN],
      sms: ['the password of your health space changed', 'Not you? Contact support.'],
    }),
    'opening-notice': () => ({
      subject: 'Your health space is open',
      body: [
        'Your Carnet health space, created in your name, opened as you did not oppose it: the professionals who treat you may now add your documents to it.',
        'Activate it with your provisional code to read it and choose who may see it. You may also close it at any time.',
      ],
      sms: ['your health space is open', 'Activate it to choose who may see it.'],
    }),
    'space-closed': () => ({
      subject: 'Your health space is closed',
      body: ['Your Carnet health space was closed: nobody reaches your data any more. It is kept for ten years, then deleted.', 'If you did not close it, contact Carnet support.'],
      sms: ['your health space was closed'],
    }),
  },
};

const LANGUAGES: Record<MessageLanguage, Language> = { fr: FR, en: EN };

export function renderAccountMessage(message: { channel: MessageChannel; template: MessageTemplate; lang: MessageLanguage; params: Params }): RenderedMessage {
  const language = LANGUAGES[message.lang] ?? FR;
  const template = language.templates[message.template];
  if (!template) throw new UnrenderableMessage(`a known template (not ${message.template})`);
  const wording = template(message.params);
  const until = message.template.endsWith('-code') ? language.when(message.params.expires) : undefined;
  const subject = `${language.brand}${wording.subject}`;
  if (message.channel === 'sms') {
    const [sentence, rest] = wording.sms;
    return { subject, text: `${language.brand}${sentence}${until ? language.smsUntil(until) : ''}.${rest ? ` ${rest}` : ''}` };
  }
  const [first, ...rest] = wording.body;
  const paragraphs = [language.hello, first, ...(until ? [language.validUntil(until)] : []), ...rest, language.signature];
  if (message.channel === 'email') paragraphs.push(language.automatic);
  return { subject, text: `${paragraphs.join('\n\n')}\n` };
}
