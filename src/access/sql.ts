/**
 * The access decision's SQL form: compiles the rules of decision.ts, for one
 * caller, into a RowPredicate over a `resources` or `resource_versions` row
 * (columns rid, resource_type, id, patient_id, created_by). The store and the
 * search engine AND it inside every query, so filtering happens before paging.
 *
 * Facts come from the tables the access indexer keeps (indexer.ts):
 * `patient_access` (a patient's active choices folded into one row),
 * `access_facts` (parties, grid keys, labels, securityContext per row) and
 * `attachment_links`. A practitioner's check of a row is one EXISTS with two
 * primary-key probes (the row's facts, its patient's choices); everything
 * the practitioner brings (who they are, their organizations, what their
 * professions may read) is bound as constants.
 *
 * With no type (system history and search, `$everything`), the predicate
 * also keeps only the types the caller's scopes let it read.
 *
 * A closed space (CONTRACT §7, `closed_spaces`) is one fact probed here, in
 * front of every rule class but shared data: a row of a patient whose space
 * is closed — or an attachment a document of such a patient (or its
 * securityContext) governs — and, for patient X and X's representatives once
 * X closed it, every row of patient data, is absent for every caller, as if
 * it never existed (`compileOpen`; decision.ts `inClosedSpace`). One
 * primary-key probe of closed_spaces by the row's patient_id (TRUE for a
 * row of no patient), plus a constant one for a patient caller.
 *
 * Every fragment is TRUE or FALSE, never NULL (NOT of a NULL would widen).
 * Never returns a predicate wider than the rules: the property test compares
 * it with decide() on random worlds.
 */
import type { Caller, PractitionerCaller } from '../kernel/caller';
import { submitterOf } from '../kernel/caller';
import { readableTypes } from '../identity/scopes';
import type { RowPredicate, SqlBinding } from '../kernel/predicate';
import { actorsCovering, professionsOf, purposeOf } from './decision';
import type { AuthorizationGrid } from './grid';
import { INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX, MASQUE_PS, ruleClassOf, type RuleClass } from './vocabulary';

export interface SqlRulesContext {
  grid: AuthorizationGrid;
  /** Patient-compartment membership and the list of compartment types (PatientCompartment). */
  compartment: { has(resourceType: string): boolean; types(): string[] };
}

interface Frag {
  sql: string;
  bindings: SqlBinding[];
  /** Known to be TRUE or FALSE, never NULL (an EXISTS): needs no COALESCE and stays a plain conjunct PostgreSQL can turn into a semi-join. */
  total?: boolean;
}

const f = (sql: string, bindings: SqlBinding[] = []): Frag => ({ sql, bindings });
const TRUE = f('TRUE');
const FALSE = f('FALSE');
function join(parts: Frag[], operator: 'AND' | 'OR'): Frag {
  if (parts.length === 0) return operator === 'AND' ? TRUE : FALSE;
  if (parts.length === 1) return parts[0];
  return f(parts.map((p) => `(${p.sql})`).join(` ${operator} `), parts.flatMap((p) => p.bindings));
}
const and = (...parts: Frag[]) => join(parts, 'AND');
const or = (...parts: Frag[]) => join(parts, 'OR');
const not = (part: Frag) => f(`NOT (${part.sql})`, part.bindings);

/** A PostgreSQL text[] literal, bound as `?::text[]`. */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/**
 * SQL: the space of the patient `patientSql` names is open (CONTRACT §7) — no
 * `closed_spaces` row, one primary-key probe; TRUE when `patientSql` is NULL
 * (a row of no patient). The one statement of the fact in SQL: sql.ts and the
 * facts reader (facts-reader.ts) use it.
 */
export function spaceOpenSql(patientSql: string, alias = 'closed'): string {
  return `NOT EXISTS (SELECT 1 FROM closed_spaces ${alias} WHERE ${alias}.patient_id = ${patientSql})`;
}

/** Fresh aliases derived from the row alias, so nested predicates never shadow each other. */
class Aliases {
  private count = 0;
  constructor(private readonly base: string) {}
  next(name: string): string {
    return `${this.base}_${name}${++this.count}`;
  }
}

/** Row-level pieces shared by every caller kind. */
class RowSql {
  constructor(readonly a: string, readonly names: Aliases) {}
  get patient(): string {
    return `${this.a}.patient_id`;
  }
  /** EXISTS over the row's access facts `F` (alias passed to `condition`). */
  facts(condition: (F: string) => Frag): Frag {
    const F = this.names.next('af');
    const c = condition(F);
    return f(`EXISTS (SELECT 1 FROM access_facts ${F} WHERE ${F}.rid = ${this.a}.rid AND (${c.sql}))`, c.bindings);
  }
  /** The row's patient has not closed their space (TRUE for a row of no patient). */
  open(): Frag {
    return { sql: spaceOpenSql(this.patient, this.names.next('cs')), bindings: [], total: true };
  }
  /**
   * An attachment lies in no closed space: no document linking to it, no
   * securityContext document and no securityContext Patient of a patient
   * whose space is closed (decision.ts inClosedSpace).
   */
  attachmentOpen(): Frag {
    const [L, d, F, c, P] = ['al', 'd', 'af', 'd', 'af'].map((name) => this.names.next(name));
    const linking = `NOT EXISTS (SELECT 1 FROM attachment_links ${L} JOIN resources ${d} ON ${d}.rid = ${L}.document_rid WHERE ${L}.target_type = ${this.a}.resource_type AND ${L}.target_id = ${this.a}.id AND NOT ${spaceOpenSql(`${d}.patient_id`, `${d}_cs`)})`;
    const contextDocument = `NOT EXISTS (SELECT 1 FROM access_facts ${F} JOIN resources ${c} ON ${c}.resource_type = 'DocumentReference' AND ${c}.id = ${F}.context_id WHERE ${F}.rid = ${this.a}.rid AND ${F}.context_type = 'DocumentReference' AND NOT ${spaceOpenSql(`${c}.patient_id`, `${c}_cs`)})`;
    const contextPatient = `NOT EXISTS (SELECT 1 FROM access_facts ${P} WHERE ${P}.rid = ${this.a}.rid AND ${P}.context_type = 'Patient' AND NOT ${spaceOpenSql(`${P}.context_id`, `${P}_cs`)})`;
    return { sql: `${linking} AND ${contextDocument} AND ${contextPatient}`, bindings: [], total: true };
  }
  linked(): Frag {
    const L = this.names.next('al');
    return f(`EXISTS (SELECT 1 FROM attachment_links ${L} WHERE ${L}.target_type = ${this.a}.resource_type AND ${L}.target_id = ${this.a}.id)`);
  }
  /** Every document linking to this attachment passes `document` (rendered on the document's row). */
  allLinkingVisible(document: (row: RowSql) => Frag): Frag {
    const L = this.names.next('al');
    const d = this.names.next('d');
    const visible = document(new RowSql(d, new Aliases(d)));
    return f(
      `NOT EXISTS (SELECT 1 FROM attachment_links ${L} JOIN resources ${d} ON ${d}.rid = ${L}.document_rid WHERE ${L}.target_type = ${this.a}.resource_type AND ${L}.target_id = ${this.a}.id AND NOT COALESCE((${visible.sql}), FALSE))`,
      visible.bindings,
    );
  }
  /** The DocumentReference named by an SQL expression passes `document`. */
  documentNamed(idSql: string, document: (row: RowSql) => Frag): Frag {
    const d = this.names.next('d');
    const visible = document(new RowSql(d, new Aliases(d)));
    return f(`EXISTS (SELECT 1 FROM resources ${d} WHERE ${d}.resource_type = 'DocumentReference' AND ${d}.id = ${idSql} AND (${visible.sql}))`, visible.bindings);
  }
  /**
   * Binary/Bundle (decision.ts followDocuments): every linking document and
   * the securityContext document visible; governed by no document, the
   * securityContext patient; governed by nothing, `fallback`.
   */
  attachment(document: (row: RowSql) => Frag, profile: (patientSql: string) => Frag, fallback: Frag): Frag {
    const contextDocument = (F: string) => f(`${F}.context_type = 'DocumentReference'`);
    const contextDocumentVisible = not(this.facts((F) => and(contextDocument(F), not(this.documentNamed(`${F}.context_id`, document)))));
    const byDocuments = or(this.linked(), this.facts(contextDocument));
    const profileContext = this.facts((F) => and(f(`${F}.context_type = 'Patient'`), profile(`${F}.context_id`)));
    const hasContext = this.facts((F) => f(`${F}.context_type IN ('DocumentReference', 'Patient')`));
    return or(
      and(byDocuments, this.allLinkingVisible(document), contextDocumentVisible),
      and(not(byDocuments), profileContext),
      and(not(this.linked()), not(hasContext), fallback),
    );
  }
}

/**
 * The practitioner's rules (CONTRACT §4.3). Patient-level facts come from
 * the patient's `patient_access` row (LEFT JOINed: no row means no choice),
 * document-level facts from `access_facts`: one probe each per row.
 */
class PractitionerSql {
  private readonly me: string;
  private readonly actors: string[];
  private readonly mode: ReturnType<typeof purposeOf>;
  private readonly samu: boolean;
  private readonly hasRole: boolean;

  constructor(private readonly caller: PractitionerCaller, private readonly grid: AuthorizationGrid) {
    this.hasRole = caller.roles.length > 0;
    this.me = submitterOf(caller);
    this.actors = actorsCovering(caller);
    this.mode = purposeOf(caller);
    this.samu = caller.roles.some((role) => role.samuRegulator);
  }

  // facts of the patient's row P (every column NULL when the patient made no choice)
  private blocked(P: string): Frag {
    return f(`COALESCE(${P}.blocked && ?::text[], FALSE)`, [textArray(this.actors)]);
  }
  private authorized(P: string): Frag {
    return f(`COALESCE(${P}.authorized && ?::text[], FALSE)`, [textArray(this.actors)]);
  }
  private administered(P: string): Frag {
    return f(`COALESCE(? = ANY(${P}.administrators), FALSE)`, [this.me]);
  }
  private hidesAll(P: string): Frag {
    return f(`COALESCE(${P}.hide_all, FALSE)`);
  }
  private denied(P: string, purpose: 'ETREAT' | 'BTG'): Frag {
    return f(`COALESCE(${P}.${purpose === 'ETREAT' ? 'etreat_denied' : 'btg_denied'}, FALSE)`);
  }
  private maskedPermitted(P: string): Frag {
    return f(`COALESCE(${P}.masked_permitted, FALSE)`);
  }
  /** A hide-document choice covering P (or everyone): `*|id` or `actor|id` among the patient's hidden documents. */
  private hiddenByChoice(P: string, idSql: string): Frag {
    const keys = ['*', ...this.actors].map(() => `? || '|' || ${idSql}`).join(', ');
    return f(`COALESCE(${P}.hidden_documents && ARRAY[${keys}], FALSE)`, ['*', ...this.actors]);
  }
  /** Step 2 (step 1 is `blocked`). */
  private step2(P: string): Frag {
    switch (this.mode) {
      case 'TREAT':
        return this.authorized(P);
      case 'ETREAT':
        return this.samu ? not(this.denied(P, 'ETREAT')) : FALSE;
      case 'BTG':
        return not(this.denied(P, 'BTG'));
    }
  }
  /** Steps 1–2; nothing without an active role (decision.ts spaceEntry). */
  private space(P: string): Frag {
    if (!this.hasRole) return FALSE;
    return and(not(this.blocked(P)), this.step2(P));
  }
  private own(P: string): Frag {
    if (!this.hasRole) return FALSE;
    return this.mode === 'TREAT' ? not(this.blocked(P)) : this.space(P);
  }
  private gridAllows(F: string): Frag {
    const right = this.grid.rightOf(professionsOf(this.caller));
    const keys = `${F}.type_keys`;
    if (right.readsUnlisted) return f(`cardinality(${keys}) > 0 AND NOT (${keys} && ?::text[])`, [textArray([...right.forbidden])]);
    return f(`cardinality(${keys}) > 0 AND ${keys} <@ ?::text[]`, [textArray([...right.allowed])]);
  }
  private takesPart(F: string): Frag {
    return f(`? = ANY(${F}.parties)`, [this.me]);
  }

  /** EXISTS over the patient's choices row (LEFT JOIN: a patient without choices still has a row of NULLs). */
  private withPatient(row: RowSql, patientSql: string, condition: (P: string) => Frag): Frag {
    const P = row.names.next('pa');
    const c = condition(P);
    return { sql: `EXISTS (SELECT 1 FROM (VALUES (1)) ${P}_one LEFT JOIN patient_access ${P} ON ${P}.patient_id = ${patientSql} WHERE ${c.sql})`, bindings: c.bindings, total: true };
  }
  /** EXISTS over the row's access facts F and its patient's choices P. */
  private withFacts(row: RowSql, condition: (F: string, P: string) => Frag): Frag {
    const F = row.names.next('af');
    const P = row.names.next('pa');
    const c = condition(F, P);
    return { sql: `EXISTS (SELECT 1 FROM access_facts ${F} LEFT JOIN patient_access ${P} ON ${P}.patient_id = ${row.patient} WHERE ${F}.rid = ${row.a}.rid AND (${c.sql}))`, bindings: c.bindings, total: true };
  }
  /** A row about no patient is its submitter's; a row about X follows the rule. */
  private aboutPatient(row: RowSql, rule: Frag): Frag {
    return or(f(`${row.patient} IS NULL AND ${row.a}.created_by = ?`, [this.me]), and(f(`${row.patient} IS NOT NULL`), rule));
  }

  /** Step 3 (decision.ts decideDocument). */
  document(row: RowSql): Frag {
    return this.withFacts(row, (F, P) => this.documentRule(row, F, P));
  }

  /**
   * The whole of step 3 for the row's facts F and its patient's choices P,
   * ordered so the common case (an authorized practitioner, an unlabelled
   * document, a patient hiding nothing) short-circuits on the cheapest tests.
   */
  private documentRule(row: RowSql, F: string, P: string): Frag {
    const emergency = this.mode !== 'TREAT';
    const unlabelled = f(`(cardinality(${F}.labels) = 0 OR NOT (${F}.labels && ?::text[]))`, [textArray([MASQUE_PS])]);
    const notHiddenByChoice = or(f(`COALESCE(cardinality(${P}.hidden_documents), 0) = 0`), not(this.hiddenByChoice(P, `${row.a}.id`)));
    const underGrid = and(
      this.mode === 'TREAT' ? this.authorized(P) : TRUE, // own() already holds the rest of step 2
      this.gridAllows(F),
      or(and(unlabelled, notHiddenByChoice), this.administered(P), emergency ? this.maskedPermitted(P) : FALSE),
    );
    return this.aboutPatient(row, and(this.own(P), or(not(this.hidesAll(P)), this.administered(P)), or(underGrid, this.takesPart(F))));
  }

  forClass(ruleClass: RuleClass, row: RowSql): Frag {
    const x = row.patient;
    switch (ruleClass) {
      case 'shared':
        return TRUE;
      case 'audit':
        return FALSE;
      case 'record':
        return this.withPatient(row, x, (P) => this.aboutPatient(row, this.space(P)));
      case 'immunization':
        return this.withFacts(row, (F, P) => this.aboutPatient(row, or(this.space(P), and(this.own(P), this.takesPart(F)))));
      case 'participation':
      case 'consent':
        return this.withFacts(row, (F, P) => this.aboutPatient(row, and(this.own(P), this.takesPart(F))));
      case 'document':
        return this.document(row);
      case 'attachment':
        return row.attachment((d) => this.document(d), (p) => this.withPatient(row, p, (P) => this.space(P)), f(`${row.a}.created_by = ?`, [this.me]));
    }
  }
}

/** A patient or legal representative: X's own data, minus the labels that hide documents from them. */
function patientClass(caller: Caller & { patientId: string }, ruleClass: RuleClass, row: RowSql): Frag {
  const me = submitterOf(caller);
  const own = f(`(${row.patient} = ? OR ${row.a}.created_by = ?)`, [caller.patientId, me]);
  const hiddenLabels = caller.kind === 'related-person' ? [INVISIBLE_PATIENT, INVISIBLE_REPRESENTANTS_LEGAUX] : [INVISIBLE_PATIENT];
  const document = (d: RowSql) =>
    and(f(`(${d.patient} = ? OR ${d.a}.created_by = ?)`, [caller.patientId, me]), d.facts((F) => f(`NOT (${F}.labels && ?::text[])`, [textArray(hiddenLabels)])));
  switch (ruleClass) {
    case 'shared':
      return TRUE;
    case 'audit':
      return f(`${row.patient} = ?`, [caller.patientId]);
    case 'document':
      return document(row);
    case 'attachment':
      return or(f(`${row.a}.created_by = ?`, [me]), row.attachment(document, (p) => f(`${p} = ?`, [caller.patientId]), FALSE));
    default:
      return own;
  }
}

function systemClass(caller: Caller, ruleClass: RuleClass, row: RowSql): Frag {
  if (ruleClass === 'shared') return TRUE;
  if (ruleClass === 'audit') return FALSE;
  return f(`${row.a}.created_by = ?`, [submitterOf(caller)]);
}

const CLASSES: readonly RuleClass[] = ['document', 'attachment', 'immunization', 'participation', 'consent', 'audit', 'record', 'shared'];

/**
 * CONTRACT §7, in front of the rules of every class but shared data: the row
 * lies in no closed space (its patient's; for an attachment, also its
 * governing documents' and securityContext's), and for patient X or X's
 * representative, X's own space is not closed (a constant probe).
 */
function openFor(caller: Caller, ruleClass: RuleClass, row: RowSql): Frag {
  if (ruleClass === 'shared') return TRUE;
  const parts: Frag[] = [];
  if (caller.kind === 'patient' || caller.kind === 'related-person') parts.push({ sql: spaceOpenSql('?', row.names.next('cs')), bindings: [caller.patientId], total: true });
  parts.push(row.open());
  if (ruleClass === 'attachment') parts.push(row.attachmentOpen());
  return { sql: parts.map((part) => part.sql).join(' AND '), bindings: parts.flatMap((part) => part.bindings), total: true };
}

/** `open` AND `rules`, never NULL: plain conjuncts the planner turns into an anti-join on closed_spaces and the rules' own joins. */
function guarded(open: Frag, rules: Frag): Frag {
  if (open === TRUE || rules === FALSE) return rules;
  const sql = rules.total ? rules.sql : `COALESCE((${rules.sql}), FALSE)`;
  return { sql: `${open.sql} AND (${sql})`, bindings: [...open.bindings, ...rules.bindings], total: true };
}

/**
 * The predicate of the closed spaces alone (§7), for a row of `resourceType`:
 * TRUE unless the row lies in a closed space or the caller's own space is
 * closed. What a submitter's own rows must also pass (facts-reader.ts seenBy).
 */
export function compileOpen(caller: Caller, resourceType: string, context: SqlRulesContext): RowPredicate {
  const ruleClass = ruleClassOf(resourceType, (type) => context.compartment.has(type));
  return {
    render(alias: string) {
      const frag = openFor(caller, ruleClass, new RowSql(alias, new Aliases(`${alias}_open`)));
      return { sql: frag.sql, bindings: frag.bindings };
    },
  };
}

/**
 * The caller's predicate for rows of `resourceType`, or of any type (testing
 * resource_type itself, capped by the caller's scopes), or — `among` — of any
 * of the listed types (capped alike, with branches for their rule classes
 * only: the statement stays short, and so does its planning).
 */
export function compileReadable(caller: Caller, resourceType: string | undefined, context: SqlRulesContext, among?: readonly string[]): RowPredicate {
  const inCompartment = (type: string) => context.compartment.has(type);
  const practitioner = caller.kind === 'practitioner' ? new PractitionerSql(caller, context.grid) : undefined;
  const rulesFor = (ruleClass: RuleClass, row: RowSql): Frag => {
    switch (caller.kind) {
      case 'practitioner':
        return (practitioner as PractitionerSql).forClass(ruleClass, row);
      case 'patient':
      case 'related-person':
        return patientClass(caller, ruleClass, row);
      case 'system':
        return systemClass(caller, ruleClass, row);
    }
  };
  const forClass = (ruleClass: RuleClass, row: RowSql): Frag => guarded(openFor(caller, ruleClass, row), rulesFor(ruleClass, row));
  return {
    render(alias: string) {
      const row = new RowSql(alias, new Aliases(alias));
      const frag = resourceType !== undefined ? forClass(ruleClassOf(resourceType, inCompartment), row) : withinScopes(caller, row, () => anyType(row, forClass, context, among));
      return frag.total ? { sql: frag.sql, bindings: frag.bindings } : { sql: `COALESCE((${frag.sql}), FALSE)`, bindings: frag.bindings };
    },
  };
}

/**
 * Scopes cap every interaction naming no type (§3): a row of a type outside
 * the caller's readable types (identity/scopes.ts) is absent, as if it did
 * not exist. A typed predicate is not capped here: the interaction naming the
 * type checks its own scope (403), and a write may match rows it cannot read.
 */
function withinScopes(caller: Caller, row: RowSql, rules: () => Frag): Frag {
  const types = readableTypes(caller);
  if (types === '*') return rules();
  if (types.length === 0) return FALSE;
  return and(f(`${row.a}.resource_type = ANY(?::text[])`, [textArray(types)]), rules());
}

/**
 * System-level history/search: one branch per rule class, each testing
 * resource_type. With `among`, only the classes of those types, each testing
 * its listed types (a row of another type is then outside the predicate).
 */
function anyType(row: RowSql, forClass: (ruleClass: RuleClass, row: RowSql) => Frag, context: SqlRulesContext, among?: readonly string[]): Frag {
  const inCompartment = (type: string) => context.compartment.has(type);
  const byClass = new Map<RuleClass, string[]>();
  const special = ['DocumentReference', 'Binary', 'Bundle', 'Immunization', 'Appointment', 'Communication', 'Consent', 'AuditEvent'];
  for (const type of among ?? [...special, ...context.compartment.types()]) {
    const ruleClass = ruleClassOf(type, inCompartment);
    const list = byClass.get(ruleClass) ?? [];
    if (!list.includes(type)) list.push(type);
    byClass.set(ruleClass, list);
  }
  const named = [...byClass.values()].flat();
  const branches = CLASSES.map((ruleClass) => {
    if (among && !byClass.has(ruleClass)) return FALSE;
    const predicate = forClass(ruleClass, row);
    if (predicate === FALSE) return FALSE;
    const typeTest =
      ruleClass === 'shared' && !among
        ? f(`${row.a}.resource_type <> ALL(?::text[])`, [textArray(named)])
        : f(`${row.a}.resource_type = ANY(?::text[])`, [textArray(byClass.get(ruleClass) ?? [])]);
    return and(typeTest, predicate);
  });
  return or(...branches.filter((branch) => branch !== FALSE));
}
