/**
 * Random worlds for the agreement property (STYLE.md: "a property test feeds
 * both with random patients, consents and documents and asserts they
 * agree"): patients, practitioners of random professions and roles,
 * documents of random types, labels and authors (some updated or deleted),
 * linking attachments in every form of reference (relative, absolute on the
 * base, versioned, with a query — and foreign or malformed ones that link
 * nothing), annex Binaries (securityContext a document, in those forms too)
 * and Binaries governed by several documents, random choices (some withdrawn or deleted), health data,
 * appointments, communications, audit events and Lists naming documents (in
 * every reference form, some naming nothing) — the scenario data — and, in
 * about a third of the worlds, patients who closed their space (CONTRACT §7,
 * a `closed_spaces` row written last, as the closure does). They
 * are written through the test server's production store and indexers
 * (test/support/server.ts `put`), then every caller's session (its SQL
 * predicate, history, search, `_include` and `_revinclude`, the references
 * left in the Lists it is served, its PUTs under client ids, and through
 * world-operations.ts its `$access` answers, ITI-68 raw Binary reads and
 * ITI-65 replacements) is compared with decide().
 */
import fc from 'fast-check';
import type { Consent, List, Resource } from 'fhir/r4';
import { actorsCovering, blockedBy, decide, type AccessWorld } from '../../src/access/decision';
import { attachmentTargets, consentRulesOf, rowFactsOf, type ConsentRule, type RowFacts } from '../../src/access/facts';
import { AuthorizationGrid } from '../../src/access/grid';
import type { Caller } from '../../src/kernel/caller';
import type { RowPredicate } from '../../src/kernel/predicate';
import type { PatientCompartment } from '../../src/kernel/compartment';
import type { CallerAccess, SearchEngine } from '../../src/kernel/ports';
import { BASE, type TestServer } from '../support/server';
import { appointment, auditEvent, binary, choice, communication, documentReference, immunization, observation, patient, patientResource, practitioner, representative, roleResources, system } from './builders';
import { CONSENT_KINDS, type ConsentKind } from '../../src/access/vocabulary';
import { accessOperationDisagreements, modeHeaders, rawBinaryDisagreements, replacementDisagreements, sampledCallers, timed } from './world-operations';

const PROFESSIONS = ['10', '10', '10', '21', '21', '40', '50', '60', '70', '86', '98', '28', '32'];
const TYPES = ['11488-4', '68599-0', '15508-5', '11502-2', 'ATTEST-RESID', 'REMB', '80788-3', 'PRESC-KINE', 'DOCPAT01', 'ZZZ-UNLISTED', null];
const LABELS = ['MASQUE_PS', 'INVISIBLE_PATIENT', 'INVISIBLE_REPRESENTANTS_LEGAUX'];
const MODES = ['TREAT', 'ETREAT', 'BTG'] as const;
/** The server's FHIR base, as the composition gives it to the access indexer. */
const FHIR_BASE = `${BASE}/fhir`;
/** Forms of a reference to `Type/id`: the first six are one local link (§4.3 step 6), the last two are not links. */
const REFERENCE_FORMS: ReadonlyArray<(key: string) => string> = [
  (key) => key,
  (key) => `${key}?_format=json`,
  (key) => `${key}?_format=application/fhir+json`,
  (key) => `${FHIR_BASE}/${key}`,
  (key) => `${key}/_history/1`,
  (key) => `${FHIR_BASE}/${key}/_history/1?_format=json`,
  (key) => `http://elsewhere.example/fhir/${key}`,
  (key) => `x/${key}`,
];

interface RoleSpec {
  profession: string;
  samu: boolean;
  org: string | null;
  active: boolean;
}
interface DocSpec {
  patient: number;
  type: string | null;
  labels: string[];
  author: number; // index into author choices
  by: number; // index into submitters
  attachments: number[]; // indexes into the attachment pool (several documents may govern one attachment)
  form: number; // index into REFERENCE_FORMS
  update: { type: string | null; labels: string[] } | null;
  deleted: boolean;
}
interface ConsentSpec {
  kind: ConsentKind;
  patient: number;
  actors: number[];
  documents: number[];
  purposes: Array<'ETREAT' | 'BTG' | 'MASKED'>;
  permit: boolean;
  active: boolean;
  later: 'none' | 'withdraw' | 'delete';
  by: number;
}
export interface WorldSpec {
  patients: number;
  /** authorize choices: patient p authorizes practitioner q when authorizations[p * 4 + q] (3/5 of the pairs). */
  authorizations: boolean[];
  /** emergency choices: [patient, purpose, permit] (each one Consent). */
  emergencies: Array<[number, 'ETREAT' | 'BTG' | 'MASKED', boolean]>;
  /** hide-document choices: [document, actor index or -1 for everyone]. */
  hides: Array<[number, number]>;
  practitioners: RoleSpec[][];
  documents: DocSpec[];
  attachments: Array<{ kind: 'Binary' | 'Bundle'; context: number; form: number; by: number }>;
  consents: ConsentSpec[];
  extras: Array<{ kind: 'observation' | 'immunization' | 'appointment' | 'communication' | 'audit' | 'plainConsent'; patient: number; who: number; by: number }>;
  /** Lists (health profile) of a patient naming documents d0–d9 (some never written) in one reference form. */
  lists: Array<{ patient: number; items: number[]; form: number; by: number }>;
  /** Patients who closed their space once everything else was written. */
  closures: number[];
}

const small = (max: number) => fc.nat({ max });

export function worldArbitrary(): fc.Arbitrary<WorldSpec> {
  const role = fc.record({ profession: fc.constantFrom(...PROFESSIONS), samu: fc.boolean(), org: fc.constantFrom(null, 'o0', 'o1'), active: fc.constantFrom(true, true, false) });
  const labels = fc.subarray(LABELS);
  const doc = fc.record({
    patient: small(2),
    type: fc.constantFrom(...TYPES),
    labels,
    author: small(9),
    by: small(7),
    attachments: fc.subarray([0, 1, 2, 3], { maxLength: 2 }),
    form: fc.oneof({ arbitrary: small(5), weight: 4 }, { arbitrary: fc.constantFrom(6, 7), weight: 1 }),
    update: fc.option(fc.record({ type: fc.constantFrom(...TYPES), labels }), { nil: null }),
    deleted: fc.boolean(),
  });
  const consent = fc.record({
    kind: fc.constantFrom(...CONSENT_KINDS),
    patient: small(2),
    actors: fc.subarray([0, 1, 2, 3, 4, 5], { maxLength: 2 }),
    documents: fc.subarray([0, 1, 2, 3, 4, 5], { minLength: 1, maxLength: 2 }),
    purposes: fc.subarray(['ETREAT', 'BTG', 'MASKED'] as Array<'ETREAT' | 'BTG' | 'MASKED'>, { minLength: 1 }),
    permit: fc.boolean(),
    active: fc.boolean(),
    later: fc.constantFrom('none', 'none', 'withdraw', 'delete') as fc.Arbitrary<'none' | 'withdraw' | 'delete'>,
    by: small(3),
  });
  return fc.record({
    patients: fc.integer({ min: 1, max: 3 }),
    authorizations: fc.array(fc.constantFrom(true, true, true, false, false), { minLength: 12, maxLength: 12 }),
    emergencies: fc.array(fc.tuple(small(2), fc.constantFrom('ETREAT', 'BTG', 'MASKED', 'MASKED') as fc.Arbitrary<'ETREAT' | 'BTG' | 'MASKED'>, fc.boolean()), { maxLength: 5 }),
    hides: fc.array(fc.tuple(small(7), fc.integer({ min: -1, max: 5 })), { maxLength: 3 }),
    practitioners: fc.array(fc.oneof({ arbitrary: fc.array(role, { minLength: 1, maxLength: 2 }), weight: 6 }, { arbitrary: fc.constant([] as RoleSpec[]), weight: 1 }), { minLength: 1, maxLength: 4 }),
    documents: fc.array(doc, { maxLength: 8 }),
    attachments: fc.array(fc.record({ kind: fc.constantFrom('Binary', 'Binary', 'Bundle') as fc.Arbitrary<'Binary' | 'Bundle'>, context: small(8), form: small(7), by: small(7) }), { maxLength: 4 }),
    consents: fc.array(consent, { maxLength: 10 }),
    extras: fc.array(
      fc.record({ kind: fc.constantFrom('observation', 'immunization', 'appointment', 'communication', 'audit', 'plainConsent') as fc.Arbitrary<WorldSpec['extras'][number]['kind']>, patient: small(2), who: small(3), by: small(7) }),
      { maxLength: 8 },
    ),
    lists: fc.array(fc.record({ patient: small(2), items: fc.subarray([0, 1, 2, 3, 4, 5, 9], { minLength: 1, maxLength: 4 }), form: small(7), by: small(7) }), { maxLength: 2 }),
    closures: fc.oneof({ arbitrary: fc.constant([] as number[]), weight: 2 }, { arbitrary: fc.subarray([0, 1, 2], { minLength: 1, maxLength: 2 }), weight: 1 }),
  });
}

/** The in-memory model of what the store holds. */
interface ModelRow {
  resourceType: string;
  id: string;
  patientId: string | null;
  createdBy: string;
  contents: Resource[];
  deleted: boolean;
}

export class World {
  readonly rows = new Map<string, ModelRow>();
  readonly callers: Array<{ name: string; caller: Caller }> = [];
  /** Patients whose space is closed. */
  readonly closed = new Set<string>();
  private roleOwner = new Map<string, string>();
  private readonly compartment: PatientCompartment;

  constructor(readonly spec: WorldSpec, private readonly server: TestServer, readonly grid: AuthorizationGrid) {
    this.compartment = server.session(system('world')).compartment;
  }

  private pid = (i: number) => `p${i % this.spec.patients}`;
  private prac = (i: number) => `pr${i % this.spec.practitioners.length}`;
  private submitter(i: number, patientIndex: number): string {
    if (i < 4) return `Practitioner/${this.prac(i)}`;
    if (i === 4 || i === 5) return `Patient/${this.pid(patientIndex)}`;
    return i === 6 ? 'client:lab' : 'client:other';
  }

  private async put(resource: Resource, createdBy: string): Promise<void> {
    const key = `${resource.resourceType}/${resource.id}`;
    await this.server.put(resource, createdBy);
    const patientId = this.compartment.patientsOf(resource)[0] ?? null;
    const row = this.rows.get(key);
    if (row) Object.assign(row, { patientId, deleted: false, contents: [...row.contents, resource] });
    else this.rows.set(key, { resourceType: resource.resourceType, id: resource.id as string, patientId, createdBy, contents: [resource], deleted: false });
  }

  private async remove(type: string, id: string): Promise<void> {
    await this.server.remove(type, id);
    const row = this.rows.get(`${type}/${id}`);
    if (row) row.deleted = true;
  }

  async build(): Promise<void> {
    const { spec } = this;
    await this.put({ resourceType: 'Organization', id: 'o0', name: 'Clinique' } as Resource, 'client:op');
    for (let i = 0; i < spec.patients; i++) await this.put(patientResource(`p${i}`), 'client:op');
    for (const [index, roles] of spec.practitioners.entries()) {
      const id = `pr${index}`;
      const caller = practitioner(id, roles.map((r) => r.profession), {
        roles: roles.map((r, n) => ({ roleId: `${id}-role${n}`, professions: [r.profession], specialties: [], samuRegulator: r.samu, ...(r.org ? { organization: `Organization/${r.org}` } : {}) })),
      });
      // an inactive role is stored with active false, so the directory resolves the caller the world holds ($access reads it)
      for (const [n, resource] of roleResources(caller).entries()) {
        await this.put(roles[n].active ? resource : ({ ...resource, active: false } as Resource), 'client:op');
        this.roleOwner.set(resource.id as string, id);
      }
      const active = { ...caller, roles: caller.roles.filter((_, n) => roles[n].active) };
      for (const mode of MODES) this.callers.push({ name: `${id}:${mode}`, caller: { ...active, purposeOfUse: mode, ...(mode === 'BTG' ? { breakGlassReason: 'test' } : {}) } });
    }
    for (let i = 0; i < spec.patients; i++) this.callers.push({ name: `p${i}`, caller: patient(`p${i}`) });
    this.callers.push({ name: 'rep-of-p0', caller: representative('rp0', 'p0') }, { name: 'lab', caller: system('lab') }, { name: 'other', caller: system('other', 'system/*.read') });
    await this.writeDocuments();
    await this.writeAttachments();
    await this.writeConsents();
    await this.writeExtras();
    await this.writeLists();
    await this.closeSpaces();
  }

  /** The closure's own row (accounts/closure.ts writes it in the closing transaction). */
  private async closeSpaces(): Promise<void> {
    for (const index of this.spec.closures) {
      const patientId = this.pid(index);
      if (this.closed.has(patientId)) continue;
      await this.server.carnet.sql.query('INSERT INTO closed_spaces (patient_id, closed_at) VALUES (?, now())', [patientId]);
      this.closed.add(patientId);
    }
  }

  private authorRef(i: number, patientIndex: number): string | undefined {
    const choices = [undefined, `Practitioner/${this.prac(0)}`, `Practitioner/${this.prac(1)}`, `PractitionerRole/${this.prac(0)}-role0`, `PractitionerRole/${this.prac(2)}-role0`, 'Organization/o0', `Patient/${this.pid(patientIndex)}`, `Practitioner/${this.prac(3)}`, undefined, `PractitionerRole/${this.prac(1)}-role1`];
    return choices[i];
  }

  private async writeDocuments(): Promise<void> {
    for (const [index, doc] of this.spec.documents.entries()) {
      const id = `d${index}`;
      const author = this.authorRef(doc.author, doc.patient);
      const make = (type: string | null, labels: string[]) => {
        const resource = documentReference(id, this.pid(doc.patient), { type, labels, authors: author ? [author] : [] });
        if (doc.attachments.length > 0) resource.content = doc.attachments.map((n) => ({ attachment: { contentType: 'application/pdf', url: REFERENCE_FORMS[doc.form](`${this.attachmentType(n)}/a${n}`) } }));
        return resource;
      };
      const by = this.submitter(doc.by, doc.patient);
      await this.put(make(doc.type, doc.labels), by);
      if (doc.update) await this.put(make(doc.update.type, doc.update.labels), by);
      if (doc.deleted) await this.remove('DocumentReference', id);
    }
  }

  /** Pool entry n is a Bundle when drawn so (and always at 3), else a Binary. */
  private attachmentType(n: number): 'Binary' | 'Bundle' {
    return this.spec.attachments[n]?.kind === 'Bundle' || n === 3 ? 'Bundle' : 'Binary';
  }

  private async writeAttachments(): Promise<void> {
    for (const [index, spec] of this.spec.attachments.entries()) {
      const id = `a${index}`;
      const contexts = [undefined, `Patient/${this.pid(0)}`, `Patient/${this.pid(1)}`, 'DocumentReference/d0', 'DocumentReference/d1', 'DocumentReference/d2', 'DocumentReference/d3', 'DocumentReference/d9', 'Device/x'];
      const context = contexts[spec.context];
      const by = this.submitter(spec.by, 0);
      if (this.attachmentType(index) === 'Bundle') await this.put({ resourceType: 'Bundle', id, type: 'collection' } as Resource, by);
      else await this.put(binary(id, context && REFERENCE_FORMS[spec.form](context)), by); // an annex when the context is a document
    }
  }

  private async writeConsents(): Promise<void> {
    for (const [index, authorized] of this.spec.authorizations.entries()) {
      const [patientIndex, practitionerIndex] = [Math.floor(index / 4), index % 4];
      if (!authorized || patientIndex >= this.spec.patients || practitionerIndex >= this.spec.practitioners.length) continue;
      const patientId = this.pid(patientIndex);
      await this.put(choice('authorize', patientId, { id: `auth${index}`, actors: [`Practitioner/${this.prac(practitionerIndex)}`] }), `Patient/${patientId}`);
    }
    for (const [index, [patientIndex, purpose, permit]] of this.spec.emergencies.entries()) {
      const patientId = this.pid(patientIndex);
      await this.put(choice('emergency', patientId, { id: `em${index}`, purposes: [purpose], effect: permit ? 'permit' : 'deny' }), `Patient/${patientId}`);
    }
    for (const [index, [documentIndex, actor]] of this.spec.hides.entries()) {
      const document = this.rows.get(`DocumentReference/d${documentIndex}`);
      const patientId = document?.patientId ?? this.pid(0);
      const actors = [`Practitioner/${this.prac(0)}`, `Practitioner/${this.prac(1)}`, `Practitioner/${this.prac(2)}`, 'Organization/o0', 'Organization/o1', `Practitioner/${this.prac(3)}`];
      await this.put(choice('hide-document', patientId, { id: `hide${index}`, documents: [`d${documentIndex}`], actors: actor < 0 ? [] : [actors[actor]] }), `Patient/${patientId}`);
    }
    const actorChoices = [`Practitioner/${this.prac(0)}`, `Practitioner/${this.prac(1)}`, `Practitioner/${this.prac(2)}`, 'Organization/o0', 'Organization/o1', `Practitioner/${this.prac(3)}`];
    for (const [index, spec] of this.spec.consents.entries()) {
      const patientId = this.pid(spec.patient);
      const actors = spec.actors.map((a) => actorChoices[a]);
      const resource = choice(spec.kind, patientId, {
        id: `c${index}`,
        actors: spec.kind === 'hide-all' || spec.kind === 'emergency' ? [] : spec.kind === 'administrator' ? actors.slice(0, 1) : actors,
        documents: spec.kind === 'hide-document' ? spec.documents.map((d) => `d${d}`) : [],
        purposes: spec.kind === 'emergency' ? spec.purposes : [],
        effect: spec.kind === 'emergency' ? (spec.permit ? 'permit' : 'deny') : undefined,
        status: spec.active ? 'active' : 'inactive',
        performer: spec.by === 0 ? `Practitioner/${this.prac(0)}` : `Patient/${patientId}`,
      });
      const by = spec.by === 0 ? `Practitioner/${this.prac(0)}` : `Patient/${patientId}`;
      await this.put(resource, by);
      if (spec.later === 'withdraw') await this.put({ ...resource, status: 'inactive' } as Consent, by);
      if (spec.later === 'delete') await this.remove('Consent', resource.id as string);
    }
  }

  private async writeExtras(): Promise<void> {
    for (const [index, spec] of this.spec.extras.entries()) {
      const patientId = this.pid(spec.patient);
      const who = `Practitioner/${this.prac(spec.who)}`;
      const by = this.submitter(spec.by, spec.patient);
      const id = `x${index}`;
      const resource: Resource = {
        observation: () => observation(id, patientId),
        immunization: () => immunization(id, patientId, spec.who === 3 ? `PractitionerRole/${this.prac(0)}-role0` : who),
        appointment: () => appointment(id, patientId, [who]),
        communication: () => communication(id, patientId, who),
        audit: () => auditEvent(id, patientId, who),
        plainConsent: () => ({ resourceType: 'Consent', id, status: 'active', scope: { text: 'research' }, category: [{ text: 'research' }], patient: { reference: `Patient/${patientId}` }, performer: [{ reference: who }] }) as Resource,
      }[spec.kind]();
      await this.put(resource, spec.kind === 'audit' ? 'server' : by);
    }
  }

  private async writeLists(): Promise<void> {
    for (const [index, spec] of this.spec.lists.entries()) {
      const patientId = this.pid(spec.patient);
      const entry = spec.items.map((d) => ({ item: { reference: REFERENCE_FORMS[spec.form](`DocumentReference/d${d}`) } }));
      await this.put({ resourceType: 'List', id: `l${index}`, status: 'current', mode: 'working', subject: { reference: `Patient/${patientId}` }, entry } as Resource, this.submitter(spec.by, spec.patient));
    }
  }

  /** The decision's view of the world (from the model, not from the database). */
  accessWorld(): { world: AccessWorld; facts: Map<string, RowFacts> } {
    const owners = (roleId: string) => this.roleOwner.get(roleId);
    const facts = new Map<string, RowFacts>();
    for (const [key, row] of this.rows) {
      let typeKeys: string[] = [];
      let last: RowFacts | undefined;
      for (const content of row.contents) {
        last = rowFactsOf({ ...row, content }, this.grid, owners, typeKeys, FHIR_BASE);
        typeKeys = last.typeKeys;
      }
      facts.set(key, last as RowFacts);
    }
    const rules: ConsentRule[] = [...this.rows.values()].filter((r) => r.resourceType === 'Consent' && !r.deleted).flatMap((r) => consentRulesOf(r.contents[r.contents.length - 1] as never, owners, FHIR_BASE));
    const links = new Map<string, RowFacts[]>();
    for (const row of this.rows.values()) {
      if (row.resourceType !== 'DocumentReference') continue;
      for (const target of attachmentTargets(row.contents[row.contents.length - 1] as never, FHIR_BASE)) {
        const key = `${target.type}/${target.id}`;
        links.set(key, [...(links.get(key) ?? []), facts.get(`DocumentReference/${row.id}`) as RowFacts]);
      }
    }
    const world: AccessWorld = {
      // a closed space's choices read as none, as those of a patient that never existed (facts-reader.ts)
      rulesOf: (patientId) => (this.closed.has(patientId) ? [] : rules.filter((r) => r.patientId === patientId)),
      linkingDocuments: (type, id) => links.get(`${type}/${id}`) ?? [],
      document: (id) => facts.get(`DocumentReference/${id}`),
      closedSpace: (patientId) => this.closed.has(patientId),
    };
    return { world, facts };
  }
}

/** One disagreement between the decision and a SQL answer. */
export interface Disagreement {
  caller: string;
  where: string;
  key: string;
  decision: boolean;
  sql: boolean;
  reason: string;
}

async function keysWhere(server: TestServer, table: 'resources' | 'resource_versions', predicate: RowPredicate, extra = 'TRUE', bindings: string[] = []): Promise<Set<string>> {
  const rendered = predicate.render('r');
  const id = table === 'resources' ? `r.resource_type || '/' || r.id` : `r.resource_type || '/' || r.id || '/' || r.version_id`;
  const result = await server.carnet.sql.query<{ key: string }>(`SELECT ${id} AS key FROM ${table} r WHERE ${extra} AND (${rendered.sql})`, [...bindings, ...rendered.bindings]);
  return new Set(result.rows.map((row) => row.key));
}

/** Compares, for every caller, decide() with its session's SQL predicate, history, search, _include and _revinclude. */
export async function disagreements(world: World, server: TestServer, stats?: Map<string, number>): Promise<Disagreement[]> {
  const { world: accessWorld, facts } = world.accessWorld();
  const blocking = (caller: Caller, patientId: string | null) => caller.kind === 'practitioner' && patientId !== null && blockedBy(accessWorld.rulesOf(patientId), actorsCovering(caller));
  const found: Disagreement[] = [];
  const versions = await server.carnet.sql.query<{ key: string; type: string; id: string; patient_id: string | null }>(
    `SELECT resource_type || '/' || id || '/' || version_id AS key, resource_type AS type, id, patient_id FROM resource_versions`,
  );
  const types = [...new Set([...world.rows.values()].map((row) => row.resourceType))];
  const sampled = sampledCallers(world.callers);
  for (const { name, caller } of world.callers) {
    const session = server.session(caller);
    const context = { grid: world.grid, inCompartment: (type: string) => session.compartment.has(type) };
    const allowed = (key: string, patientId?: string | null) => {
      const rowFacts = facts.get(key) as RowFacts;
      return decide(caller, patientId === undefined ? rowFacts : { ...rowFacts, patientId }, accessWorld, context);
    };
    const compare = (where: string, expectedKeys: string[], sql: Set<string>, decision: (key: string) => { allow: boolean; reason: string }) => {
      for (const key of expectedKeys) {
        const d = decision(key);
        if (stats && where === 'any type') stats.set(`${caller.kind}: ${d.allow ? 'allow' : 'deny'} ${d.reason}`, (stats.get(`${caller.kind}: ${d.allow ? 'allow' : 'deny'} ${d.reason}`) ?? 0) + 1);
        if (d.allow !== sql.has(key)) found.push({ caller: name, where, key, decision: d.allow, sql: sql.has(key), reason: d.reason });
      }
    };
    const all = [...world.rows.keys()];
    compare('any type', all, await keysWhere(server, 'resources', session.access.readable()), (key) => allowed(key));
    for (const type of types) {
      const ofType = all.filter((key) => key.startsWith(`${type}/`));
      compare(type, ofType, await keysWhere(server, 'resources', session.access.readable(type), 'r.resource_type = ?', [type]), (key) => allowed(key));
    }
    const history = await keysWhere(server, 'resource_versions', session.access.readable());
    compare('history', versions.rows.map((v) => v.key), history, (key) => {
      const version = versions.rows.find((v) => v.key === key) as { type: string; id: string; patient_id: string | null };
      return allowed(`${version.type}/${version.id}`, version.patient_id);
    });
    found.push(...(await searchDisagreements(name, world, session.search, (type) => session.access.readable(type), allowed)));
    found.push(...(await servedListDisagreements(name, world, session.access, allowed)));
    const blocks = (patientId: string | null) => blocking(caller, patientId);
    found.push(...(await putDisagreements(name, caller, world, server, allowed, blocks)));
    if (sampled.includes(name)) found.push(...(await timed(stats, 'ITI-68 raw reads', () => rawBinaryDisagreements(name, caller, world, server, allowed, blocks))));
  }
  // $access as each document's patient, checked against every practitioner's decision
  const callerNamed = new Map(world.callers.map(({ name, caller }) => [name, caller]));
  const compartment = server.session(system('world')).compartment;
  const context = { grid: world.grid, inCompartment: (type: string) => compartment.has(type) };
  const decided = (name: string, key: string) => decide(callerNamed.get(name) as Caller, facts.get(key) as RowFacts, accessWorld, context);
  found.push(...(await timed(stats, '$access', () => accessOperationDisagreements(world, server, accessWorld, decided, blocking, stats))));
  // last: a replacement the rules let through by mistake would change the world
  const submitters = world.callers.filter(({ name }) => sampled.includes(name));
  found.push(...(await timed(stats, 'ITI-65 replacements', () => replacementDisagreements(submitters, world, server, decided, blocking, stats))));
  return found;
}

/**
 * The Lists' served copies keep exactly the entries naming a document the
 * decision lets the caller see (or naming nothing local: foreign URLs and
 * odd paths stay); an entry naming a hidden document and one naming a
 * document never written are both gone (§4.3 step 7).
 */
async function servedListDisagreements(name: string, world: World, access: CallerAccess, allowed: (key: string) => { allow: boolean; reason: string }): Promise<Disagreement[]> {
  const found: Disagreement[] = [];
  const lists = [...world.rows.values()].filter((row) => row.resourceType === 'List').map((row) => row.contents[row.contents.length - 1] as List);
  const served = await access.served(lists, FHIR_BASE);
  for (const [index, list] of lists.entries()) {
    const spec = world.spec.lists[index];
    const kept = new Set((served[index].entry ?? []).map((entry) => entry.item.reference));
    for (const [n, entry] of (list.entry ?? []).entries()) {
      const key = `DocumentReference/d${spec.items[n]}`;
      const local = spec.form < 6;
      const should = !local || (world.rows.has(key) && allowed(key).allow);
      if (should !== kept.has(entry.item.reference)) found.push({ caller: name, where: `served List/${list.id}`, key: entry.item.reference as string, decision: should, sql: !should, reason: world.rows.has(key) ? allowed(key).reason : 'never written' });
    }
  }
  return found;
}

/** Patient data under ids the caller may not see: a PUT answers exactly as for an id never used (§2), unless the patient blocked the caller (§4.3 step 1: 403). */
const PUT_TYPES = ['Patient', 'DocumentReference', 'Observation', 'Binary', 'List'];

async function putDisagreements(name: string, caller: Caller, world: World, server: TestServer, allowed: (key: string) => { allow: boolean; reason: string }, blocks: (patientId: string | null) => boolean): Promise<Disagreement[]> {
  const found: Disagreement[] = [];
  const headers = modeHeaders(caller);
  const answer = async (type: string, id: string, body: Resource) => {
    try {
      // production's route in the caller's session (the audit stage aside: its group commit would make 200 worlds slow)
      const response = await server.carnet.pipeline.route({ method: 'PUT', path: `${type}/${id}`, query: [], headers: { 'content-type': 'application/fhir+json', ...headers }, body: { ...body, id } }, server.session(caller));
      return `${response.status}`;
    } catch (error) {
      const e = error as { status?: number; message?: string; expression?: string };
      return `${e.status} ${String(e.message).split(id).join('<id>')} ${e.expression ?? ''}`;
    }
  };
  for (const type of PUT_TYPES) {
    const hidden = [...world.rows.values()].find((row) => row.resourceType === type && !allowed(`${type}/${row.id}`).allow && !blocks(row.patientId));
    if (!hidden) continue;
    const body = hidden.contents[hidden.contents.length - 1];
    const [forHidden, forFree] = [await answer(type, hidden.id, body), await answer(type, `never-${hidden.id}`, body)];
    if (forHidden.replace('never-<id>', '<id>') !== forFree.replace('never-<id>', '<id>')) {
      found.push({ caller: name, where: `PUT ${type}`, key: `${type}/${hidden.id}`, decision: false, sql: true, reason: `${allowed(`${type}/${hidden.id}`).reason} — hidden: ${forHidden} / never written: ${forFree}` });
    }
  }
  return found;
}

async function searchDisagreements(
  name: string,
  world: World,
  engine: SearchEngine,
  access: (type: string) => RowPredicate,
  allowed: (key: string) => { allow: boolean; reason: string },
): Promise<Disagreement[]> {
  const found: Disagreement[] = [];
  const live = (type: string) => [...world.rows.values()].filter((row) => row.resourceType === type && !row.deleted).map((row) => `${type}/${row.id}`);
  const check = (where: string, expected: string[], got: string[]) => {
    const gotSet = new Set(got);
    for (const key of new Set([...expected, ...got])) {
      const should = expected.includes(key);
      if (should !== gotSet.has(key)) found.push({ caller: name, where, key, decision: should, sql: gotSet.has(key), reason: allowed(key).reason });
    }
  };
  const keyOf = (row: { resourceType: string; id: string }) => `${row.resourceType}/${row.id}`;
  const docs = await engine.search({ resourceType: 'DocumentReference', query: [['_count', '1000'], ['_include', 'DocumentReference:subject']], access });
  const visibleDocs = live('DocumentReference').filter((key) => allowed(key).allow);
  check('search DocumentReference', visibleDocs, docs.matches.map(keyOf));
  if (docs.total !== undefined && docs.total !== docs.matches.length) found.push({ caller: name, where: 'total', key: 'DocumentReference', decision: true, sql: false, reason: `total ${docs.total} ≠ ${docs.matches.length}` });
  const subjects = new Set(visibleDocs.map((key) => world.rows.get(key)?.patientId).filter((id): id is string => !!id).map((id) => `Patient/${id}`));
  check('_include subject', [...subjects].filter((key) => allowed(key).allow), docs.included.map(keyOf));
  const patients = await engine.search({ resourceType: 'Patient', query: [['_count', '1000'], ['_revinclude', 'DocumentReference:subject']], access });
  const visiblePatients = live('Patient').filter((key) => allowed(key).allow);
  check('search Patient', visiblePatients, patients.matches.map(keyOf));
  const revincluded = visibleDocs.filter((key) => visiblePatients.includes(`Patient/${world.rows.get(key)?.patientId}`));
  check('_revinclude DocumentReference', revincluded, patients.included.map(keyOf));
  const paged = await engine.search({ resourceType: 'DocumentReference', query: [['_count', '2'], ['_total', 'accurate']], access });
  if (paged.total !== visibleDocs.length) found.push({ caller: name, where: 'paged total', key: 'DocumentReference', decision: true, sql: false, reason: `total ${paged.total} ≠ ${visibleDocs.length}` });
  if (paged.matches.length !== Math.min(2, visibleDocs.length)) found.push({ caller: name, where: 'full page', key: 'DocumentReference', decision: true, sql: false, reason: `page of ${paged.matches.length}` });
  return found;
}

/** Empties every table a world writes. */
export async function clearWorld(server: TestServer): Promise<void> {
  await server.carnet.sql.query(
    'TRUNCATE resources, resource_versions, access_facts, attachment_links, consent_rules, patient_access, closed_spaces, search_string, search_token, search_reference, search_date, search_number, search_quantity, search_uri',
  );
}
