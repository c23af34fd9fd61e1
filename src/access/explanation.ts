/**
 * "Who can see this document, and why" (CONTRACT §10 `$access`), as pure
 * functions over decide(): for one practitioner and one DocumentReference,
 * the verdict in TREAT and in the two emergency modes (ETREAT, BTG), each
 * with the rules that decide it, named by a code and told in words a patient
 * understands (French and English).
 *
 * Every verdict IS decide()'s (decision.ts), never a second copy of the
 * rules: a verdict's reason is decide()'s own, mapped to its code through one
 * table (REASON_CODES; a reason it does not know is an error, and a test
 * enumerates decide()'s reasons); the part an administrator choice or a
 * MASKED permission plays is found by asking decide() again without that
 * choice — the choice decides when the verdict then changes. Never reads the
 * database; never turns a verdict around.
 */
import type { PractitionerCaller } from '../kernel/caller';
import { BLOCKED, CLOSED_SPACE, decide, NO_ACTIVE_ROLE, type AccessWorld, type DecisionContext } from './decision';
import type { ConsentRule, RowFacts } from './facts';

/** The rules a verdict names (§10's seven, and those of §3, §4.3 step 2 and §7 that can decide too). */
export const ACCESS_REASON_CODES = [
  'grid',
  'hidden',
  'hide-all',
  'blocked',
  'not-authorized',
  'author',
  'administrator',
  'masked',
  'no-active-role',
  'not-samu',
  'emergency-refused',
  'closed-space',
] as const;
export type AccessReasonCode = (typeof ACCESS_REASON_CODES)[number];

/** decide()'s reasons for a practitioner and a DocumentReference (decision.ts decideDocument, spaceEntry, inClosedSpace) → the rule's code. */
export const REASON_CODES: Readonly<Record<string, AccessReasonCode>> = {
  [CLOSED_SPACE]: 'closed-space',
  [NO_ACTIVE_ROLE]: 'no-active-role',
  [BLOCKED]: 'blocked',
  'not authorized by the patient (TREAT)': 'not-authorized',
  'ETREAT needs the samu-regulator role': 'not-samu',
  'the patient denies ETREAT': 'emergency-refused',
  'the patient denies BTG': 'emergency-refused',
  'hide-all: only administrators see the documents': 'hide-all',
  author: 'author',
  'the grid does not allow this document type for this profession': 'grid',
  'hiddenFrom: the document is hidden': 'hidden',
  'document under the grid': 'grid',
};

/** The code of one of decide()'s reasons; a reason the table lacks is a programming error (a rule was added without its words). */
export function reasonCodeOf(reason: string): AccessReasonCode {
  const code = REASON_CODES[reason];
  if (!code) throw new Error(`$access: decide() gave a reason with no code (access/explanation.ts REASON_CODES): "${reason}"`);
  return code;
}

export type AccessMode = 'TREAT' | 'ETREAT' | 'BTG';
export const EMERGENCY_MODES = ['ETREAT', 'BTG'] as const;

export interface Verdict {
  mode: AccessMode;
  canSee: boolean;
  /** The rules that decide, most telling first (an administrator's or MASKED's part, then decide()'s own reason). */
  reasons: AccessReasonCode[];
  /** decide()'s own words. */
  decision: string;
}

export interface ProfessionalAccess {
  practitionerId: string;
  /** In TREAT, the default mode of every request. */
  treat: Verdict;
  /** In ETREAT (SAMU) and BTG (break-glass), in that order. */
  emergency: Verdict[];
}

/** The practitioner as a request in `mode` would make them (purpose-of-use.ts sets the same fields). */
function inMode(caller: PractitionerCaller, mode: AccessMode): PractitionerCaller {
  const { breakGlassReason: _reason, ...rest } = caller;
  return { ...rest, purposeOfUse: mode, ...(mode === 'BTG' ? { breakGlassReason: '$access' } : {}) };
}

/** The world without the rules `dropped` matches: what decide() would say had the patient not made those choices. */
function without(world: AccessWorld, dropped: (rule: ConsentRule) => boolean): AccessWorld {
  return {
    rulesOf: (patientId) => world.rulesOf(patientId).filter((rule) => !dropped(rule)),
    linkingDocuments: (type, id) => world.linkingDocuments(type, id),
    document: (id) => world.document(id),
    closedSpace: (patientId) => world.closedSpace(patientId),
  };
}

function verdict(caller: PractitionerCaller, mode: AccessMode, document: RowFacts, world: AccessWorld, context: DecisionContext): Verdict {
  const asked = inMode(caller, mode);
  const decision = decide(asked, document, world, context);
  const reasons: AccessReasonCode[] = [reasonCodeOf(decision.reason)];
  if (decision.allow) {
    const me = `Practitioner/${caller.practitionerId}`;
    const decidesIt = (dropped: (rule: ConsentRule) => boolean) => !decide(asked, document, without(world, dropped), context).allow;
    if (mode !== 'TREAT' && decidesIt((rule) => rule.kind === 'emergency' && rule.purpose === 'MASKED' && rule.effect === 'permit')) reasons.unshift('masked');
    if (decidesIt((rule) => rule.kind === 'administrator' && rule.actor === me)) reasons.unshift('administrator');
  }
  return { mode, canSee: decision.allow, reasons, decision: decision.reason };
}

/** Who `caller` is to `document`, in every mode: decide() asked as the practitioner, roles as identification resolved them. */
export function explainFor(caller: PractitionerCaller, document: RowFacts, world: AccessWorld, context: DecisionContext): ProfessionalAccess {
  return {
    practitionerId: caller.practitionerId,
    treat: verdict(caller, 'TREAT', document, world, context),
    emergency: EMERGENCY_MODES.map((mode) => verdict(caller, mode, document, world, context)),
  };
}

export type Language = 'fr' | 'en';
export const LANGUAGES: readonly Language[] = ['fr', 'en'];

/** One sentence per way a rule can decide. */
type Phrase = AccessReasonCode | 'grid-authorized' | 'grid-emergency' | 'grid-refused';

const WORDS: Record<Exclude<Phrase, 'grid'>, Record<Language, string>> = {
  'grid-authorized': {
    fr: "Vous avez autorisé ce professionnel (ou son établissement), et la grille d'habilitations permet à sa profession de lire ce type de document.",
    en: 'You authorized this professional (or their organization), and the authorization grid lets their profession read this type of document.',
  },
  'grid-emergency': {
    fr: "En urgence, la grille d'habilitations permet à sa profession de lire ce type de document.",
    en: 'In an emergency, the authorization grid lets their profession read this type of document.',
  },
  'grid-refused': {
    fr: "La grille d'habilitations ne permet pas à sa profession de lire ce type de document.",
    en: 'The authorization grid does not let their profession read this type of document.',
  },
  hidden: {
    fr: 'Ce document est masqué (par vous ou par son auteur) : ce professionnel ne le voit pas.',
    en: 'This document is hidden (by you or by its author): this professional does not see it.',
  },
  'hide-all': {
    fr: 'Vous avez masqué tous vos documents : seuls vos administrateurs les voient.',
    en: 'You hid all your documents: only your administrators see them.',
  },
  blocked: {
    fr: "Vous avez bloqué ce professionnel : il n'a accès à rien de votre espace, même en urgence.",
    en: 'You blocked this professional: they reach nothing of your space, not even in an emergency.',
  },
  'not-authorized': {
    fr: "Vous n'avez pas autorisé ce professionnel à consulter votre espace.",
    en: 'You have not authorized this professional to consult your space.',
  },
  author: {
    fr: "Ce professionnel est l'auteur de ce document.",
    en: 'This professional wrote this document.',
  },
  administrator: {
    fr: 'Vous avez nommé ce professionnel administrateur de votre espace : il voit aussi les documents masqués.',
    en: 'You named this professional administrator of your space: they also see hidden documents.',
  },
  masked: {
    fr: "Vous avez permis qu'en urgence les documents masqués soient montrés.",
    en: 'You allowed hidden documents to be shown in an emergency.',
  },
  'no-active-role': {
    fr: "Ce professionnel n'exerce actuellement dans aucun rôle actif : il n'a accès à rien.",
    en: 'This professional holds no active role at present: they reach nothing.',
  },
  'not-samu': {
    fr: 'En mode SAMU, seuls les médecins régulateurs du SAMU accèdent à votre espace.',
    en: 'In SAMU mode, only SAMU regulators reach your space.',
  },
  'emergency-refused': {
    fr: 'Vous avez refusé cet accès en urgence.',
    en: 'You refused this emergency access.',
  },
  'closed-space': {
    fr: "Votre espace est fermé : personne n'y accède plus.",
    en: 'Your space is closed: nobody reaches it any more.',
  },
};

/** The words for `code` deciding a verdict: the grid's depend on the verdict and the mode. */
export function wordsFor(code: AccessReasonCode, canSee: boolean, mode: AccessMode, language: Language): string {
  const phrase: Exclude<Phrase, 'grid'> = code !== 'grid' ? code : !canSee ? 'grid-refused' : mode === 'TREAT' ? 'grid-authorized' : 'grid-emergency';
  return WORDS[phrase][language];
}

/** The modes' names, for a sentence about each. */
export const MODE_NAMES: Record<AccessMode, Record<Language, string>> = {
  TREAT: { fr: 'consultation habituelle', en: 'usual care' },
  ETREAT: { fr: 'accès par le SAMU', en: 'SAMU access' },
  BTG: { fr: 'accès en urgence (bris de glace)', en: 'emergency access (break-glass)' },
};

/**
 * The language of an answer: `_lang` or `lang` (fr, en) first, else the
 * first supported tag of `Accept-Language` by its q weight, else French.
 * A `_lang` that names no supported language → undefined (the caller says 400).
 */
export function languageOf(parameter: string | undefined, acceptLanguage: string | undefined): Language | undefined {
  if (parameter !== undefined) {
    const asked = parameter.trim().toLowerCase().split('-')[0];
    return LANGUAGES.find((language) => language === asked);
  }
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag, ...options] = part.trim().toLowerCase().split(';');
      const q = options.map((option) => /^\s*q=([0-9.]+)\s*$/.exec(option)?.[1]).find((value) => value !== undefined);
      return { tag: tag.split('-')[0], q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.q > 0 && !Number.isNaN(entry.q))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked.map((entry) => LANGUAGES.find((language) => language === entry.tag)).find((language) => language !== undefined) ?? 'fr';
}
