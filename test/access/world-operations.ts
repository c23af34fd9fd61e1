/**
 * The agreement property on three more paths of a random world (world.ts
 * `disagreements` calls them), each through production's route in the
 * caller's session (`carnet.pipeline.route`, the audit stage aside as in the
 * PUTs of world.ts):
 * - `$access` (CONTRACT §10): asked as each document's patient (and as p0's
 *   representative), it answers 200 iff the decision lets them see the
 *   document, lists exactly the practitioners holding an authorize, block or
 *   administrator choice of the patient (these worlds write no history), and
 *   each one's canSee in TREAT, ETREAT and BTG is the decision for that
 *   practitioner's caller in that mode; asked by a practitioner, it is the
 *   read's 404 where the decision hides the document, else 403;
 * - ITI-68 raw Binary reads (§9): 200 iff the decision allows, and a hidden
 *   Binary answers exactly (status, OperationOutcome, headers) as one never
 *   written;
 * - ITI-65 (§9) replacing a document the decision hides from the submitter
 *   answers exactly as replacing one never written, and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource } from 'fhir/r4';
import { actorsCovering, type AccessWorld } from '../../src/access/decision';
import type { Caller, PractitionerCaller } from '../../src/kernel/caller';
import type { FhirRequest } from '../../src/kernel/request';
import type { TestServer } from '../support/server';
import type { Disagreement, World } from './world';

export type Decided = (callerName: string, key: string) => { allow: boolean; reason: string };

/** The caller's request headers for its mode (X-Purpose-Of-Use, X-Break-Glass-Reason). */
export function modeHeaders(caller: Caller): Record<string, string> {
  return caller.kind === 'practitioner' && caller.purposeOfUse ? { 'x-purpose-of-use': caller.purposeOfUse, ...(caller.breakGlassReason ? { 'x-break-glass-reason': caller.breakGlassReason } : {}) } : {};
}

interface Answer {
  status: number;
  body?: Resource;
  /** What a client sees of the answer, ids replaced by `<id>`: status, OperationOutcome issues, headers. */
  signature: string;
}

/** Production's route for `caller`: the response, or the FhirError it threw as the HTTP adapter would answer it. */
async function route(server: TestServer, caller: Caller, request: Omit<FhirRequest, 'headers'> & { headers?: FhirRequest['headers'] }, ids: string[] = []): Promise<Answer> {
  const blind = (text: string) => ids.reduce((out, id) => out.split(id).join('<id>'), text);
  try {
    const response = await server.carnet.pipeline.route({ ...request, headers: { ...modeHeaders(caller), ...request.headers } }, server.session(caller));
    const issues = response.body?.resourceType === 'OperationOutcome' ? JSON.stringify(response.body) : '';
    return { status: response.status, body: response.body, signature: blind(`${response.status} ${issues} ${JSON.stringify(response.headers ?? {})}`) };
  } catch (error) {
    const e = error as { status?: number; issues?: unknown; headers?: unknown };
    if (typeof e.status !== 'number') throw error;
    return { status: e.status, signature: blind(`${e.status} ${JSON.stringify(e.issues)} ${JSON.stringify(e.headers ?? {})}`) };
  }
}

const part = (parts: ParametersParameter[] | undefined, name: string) => (parts ?? []).filter((p) => p.name === name);

/** practitioner id → [TREAT, ETREAT, BTG] canSee, from an `$access` answer. */
function verdicts(body: Parameters): Map<string, boolean[]> {
  const found = new Map<string, boolean[]>();
  for (const professional of part(body.parameter, 'professional')) {
    const id = String(part(professional.part, 'practitioner')[0]?.valueReference?.reference).replace('Practitioner/', '');
    const emergency = (mode: string) => part(part(professional.part, 'emergency').find((e) => part(e.part, 'mode')[0]?.valueCode === mode)?.part, 'canSee')[0]?.valueBoolean;
    found.set(id, [part(professional.part, 'canSee')[0]?.valueBoolean as boolean, emergency('ETREAT') as boolean, emergency('BTG') as boolean]);
  }
  return found;
}

const MODES = ['TREAT', 'ETREAT', 'BTG'] as const;
const AUDIENCE_KINDS: readonly string[] = ['authorize', 'block', 'administrator'];

/** `$access` for every DocumentReference of the world. */
export async function accessOperationDisagreements(
  world: World,
  server: TestServer,
  accessWorld: AccessWorld,
  decided: Decided,
  blocks: (caller: Caller, patientId: string | null) => boolean,
  stats?: Map<string, number>,
): Promise<Disagreement[]> {
  const found: Disagreement[] = [];
  const count = (what: string) => stats?.set(what, (stats.get(what) ?? 0) + 1);
  const practitioners = world.callers.filter(({ name }) => name.endsWith(':TREAT')).map(({ name, caller }) => ({ id: name.replace(':TREAT', ''), caller: caller as PractitionerCaller }));
  const callerNamed = (name: string) => world.callers.find((entry) => entry.name === name)?.caller as Caller;
  for (const row of [...world.rows.values()].filter((r) => r.resourceType === 'DocumentReference' && r.patientId !== null)) {
    const key = `DocumentReference/${row.id}`;
    const patientId = row.patientId as string;
    const ask = (name: string) => route(server, callerNamed(name), { method: 'GET', path: `${key}/$access`, query: [] });
    const expected = (name: string) => (!decided(name, key).allow ? 404 : row.deleted ? 410 : 200);
    const mismatch = (name: string, where: string, decision: boolean, got: boolean, reason: string) => found.push({ caller: name, where, key, decision, sql: got, reason });
    const own = await ask(patientId);
    count(`$access as the patient: ${own.status}`);
    if (own.status !== expected(patientId)) mismatch(patientId, '$access status', expected(patientId) === 200, own.status === 200, `${decided(patientId, key).reason}: ${own.signature}`);
    if (own.status === 200) {
      const listed = verdicts(own.body as Parameters);
      const rules = accessWorld.rulesOf(patientId).filter((rule) => AUDIENCE_KINDS.includes(rule.kind) && rule.actor !== null);
      const audience = practitioners.filter(({ caller }) => rules.some((rule) => actorsCovering(caller).includes(rule.actor as string))).map(({ id }) => id);
      if (JSON.stringify([...listed.keys()]) !== JSON.stringify(audience)) mismatch(patientId, '$access audience', true, false, `listed ${[...listed.keys()]} ≠ holders ${audience}`);
      for (const [id, canSee] of listed) {
        for (const [n, mode] of MODES.entries()) {
          const decision = decided(`${id}:${mode}`, key);
          count(`$access verdicts compared (${mode})`);
          if (canSee[n] !== decision.allow) mismatch(`${id}:${mode}`, '$access canSee', decision.allow, canSee[n], decision.reason);
        }
      }
    }
    if (patientId === 'p0' && world.callers.some((entry) => entry.name === 'rep-of-p0')) {
      const theirs = await ask('rep-of-p0');
      if (theirs.status !== expected('rep-of-p0')) mismatch('rep-of-p0', '$access status', expected('rep-of-p0') === 200, theirs.status === 200, theirs.signature);
      else if (theirs.status === 200 && own.status === 200 && JSON.stringify(theirs.body) !== JSON.stringify(own.body)) mismatch('rep-of-p0', '$access same answer', true, false, "the representative's answer differs from the patient's");
    }
    const asker = practitioners[0];
    if (asker) {
      const name = `${asker.id}:TREAT`;
      const want = blocks(asker.caller, patientId) ? 403 : !decided(name, key).allow ? 404 : row.deleted ? 410 : 403;
      const theirs = await ask(name);
      if (theirs.status !== want) mismatch(name, '$access by a practitioner', want !== 404, theirs.status !== 404, `${decided(name, key).reason}: ${theirs.signature}`);
    }
  }
  return found;
}

/** ITI-68: a raw read of each Binary of the world, and of one never written, as `caller`. */
export async function rawBinaryDisagreements(name: string, caller: Caller, world: World, server: TestServer, allowed: (key: string) => { allow: boolean; reason: string }, blocked: (patientId: string | null) => boolean): Promise<Disagreement[]> {
  const found: Disagreement[] = [];
  const read = (id: string) => route(server, caller, { method: 'GET', path: `Binary/${id}`, query: [], headers: { accept: '*/*' } }, [id]);
  const never = await read('never-written-binary');
  if (never.status !== 404) found.push({ caller: name, where: 'ITI-68 never written', key: 'Binary/never-written-binary', decision: false, sql: true, reason: never.signature });
  for (const row of [...world.rows.values()].filter((r) => r.resourceType === 'Binary')) {
    const key = `Binary/${row.id}`;
    const decision = allowed(key);
    const answer = await read(row.id);
    const shown = answer.status === 200 && answer.body === undefined;
    if (shown !== (decision.allow && !row.deleted)) found.push({ caller: name, where: 'ITI-68 raw read', key, decision: decision.allow, sql: shown, reason: `${decision.reason}: ${answer.signature}` });
    if (!decision.allow && !blocked(row.patientId) && answer.signature !== never.signature) {
      found.push({ caller: name, where: 'ITI-68 hidden = never written', key, decision: false, sql: true, reason: `hidden: ${answer.signature} / never written: ${never.signature}` });
    }
  }
  return found;
}

const MHD = 'https://profiles.ihe.net/ITI/MHD/StructureDefinition/';

/** An ITI-65 Minimal submission of one text document for `patientId`, replacing `replaced`. */
function replacement(patientId: string, replaced: string): Bundle {
  const [list, document, binary] = [randomUUID(), randomUUID(), randomUUID()].map((id) => `urn:uuid:${id}`);
  const uid = `urn:oid:1.2.250.1.999.${randomUUID().replace(/-/g, '').slice(0, 12).replace(/[a-f]/g, '7')}`;
  const entries: BundleEntry[] = [
    {
      fullUrl: list,
      request: { method: 'POST', url: 'List' },
      resource: {
        resourceType: 'List',
        meta: { profile: [`${MHD}IHE.MHD.Minimal.SubmissionSet`] },
        extension: [{ url: `${MHD}ihe-sourceId`, valueIdentifier: { value: 'urn:oid:1.2.250.1.999' } }],
        identifier: [{ use: 'usual', system: 'urn:ietf:rfc:3986', value: uid, type: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/IHE.MHD.MHDIdentifierType', code: 'uniqueId' }] } }],
        status: 'current',
        mode: 'working',
        code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] },
        subject: { reference: `Patient/${patientId}` },
        date: '2026-12-02T10:00:00+01:00',
        entry: [{ item: { reference: document } }],
      } as Resource,
    },
    {
      fullUrl: document,
      request: { method: 'POST', url: 'DocumentReference' },
      resource: {
        resourceType: 'DocumentReference',
        meta: { profile: [`${MHD}IHE.MHD.Minimal.DocumentReference`] },
        masterIdentifier: { system: 'urn:ietf:rfc:3986', value: `${uid}.1` },
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
        subject: { reference: `Patient/${patientId}` },
        relatesTo: [{ code: 'replaces', target: { reference: `DocumentReference/${replaced}` } }],
        content: [{ attachment: { contentType: 'text/plain', url: binary } }],
      } as Resource,
    },
    { fullUrl: binary, request: { method: 'POST', url: 'Binary' }, resource: { resourceType: 'Binary', contentType: 'text/plain', data: 'SGVsbG8=' } as Resource },
  ];
  return { resourceType: 'Bundle', type: 'transaction', meta: { profile: [`${MHD}IHE.MHD.Minimal.ProvideBundle`] }, entry: entries };
}

/** Rows and versions stored: a submission that changes nothing leaves both as they were. */
async function stored(server: TestServer): Promise<string> {
  const { rows } = await server.carnet.sql.query<{ n: string; v: string }>('SELECT (SELECT count(*) FROM resources) AS n, (SELECT count(*) FROM resource_versions) AS v');
  return `${rows[0].n}/${rows[0].v}`;
}

/**
 * ITI-65 replacing, for each of `callers`, one document (the first live one)
 * the decision hides from the caller and not of a patient who blocked it:
 * the same answer as replacing an id never written, and the world unchanged.
 * The statistics count how often the replacement rule itself answered.
 */
export async function replacementDisagreements(
  callers: ReadonlyArray<{ name: string; caller: Caller }>,
  world: World,
  server: TestServer,
  decided: Decided,
  blocks: (caller: Caller, patientId: string | null) => boolean,
  stats?: Map<string, number>,
): Promise<Disagreement[]> {
  const found: Disagreement[] = [];
  for (const { name, caller } of callers) {
    const hidden = [...world.rows.values()].find((row) => row.resourceType === 'DocumentReference' && !row.deleted && row.patientId !== null && !decided(name, `DocumentReference/${row.id}`).allow && !blocks(caller, row.patientId));
    if (!hidden) continue;
    const key = `DocumentReference/${hidden.id}`;
    const submit = (target: string) => route(server, caller, { method: 'POST', path: '', query: [], headers: { 'content-type': 'application/fhir+json' }, body: replacement(hidden.patientId as string, target) }, [target]);
    const before = await stored(server);
    const [forHidden, forNever] = [await submit(hidden.id), await submit(`never-${hidden.id}`)];
    const after = await stored(server);
    if (forHidden.signature !== forNever.signature) found.push({ caller: name, where: 'ITI-65 replaces hidden = never written', key, decision: false, sql: true, reason: `${decided(name, key).reason} — hidden: ${forHidden.signature} / never written: ${forNever.signature}` });
    if (after !== before) found.push({ caller: name, where: 'ITI-65 replacement changed the world', key, decision: false, sql: true, reason: `rows/versions ${before} → ${after}: ${forHidden.signature}` });
    const outcome = `ITI-65 replacing a never-written id: ${caller.kind} ${forNever.status} ${/"expression":\["([^"]*)"/.exec(forNever.signature)?.[1] ?? ''}`;
    stats?.set(outcome, (stats.get(outcome) ?? 0) + 1);
  }
  return found;
}

/**
 * The callers of the dearer paths (raw reads, ITI-65): every caller but the
 * practitioners, and one mode of each practitioner per world — pr0 TREAT,
 * pr1 ETREAT, pr2 BTG, pr3 TREAT (their other modes are checked on every
 * other path of the world).
 */
export function sampledCallers(callers: ReadonlyArray<{ name: string }>): string[] {
  const modes = ['TREAT', 'ETREAT', 'BTG'];
  return callers.map(({ name }) => name).filter((name) => {
    const practitioner = /^pr(\d+):(\w+)$/.exec(name);
    return !practitioner || practitioner[2] === modes[Number(practitioner[1]) % modes.length];
  });
}

/** Runs `work`, adding its milliseconds to `stats` under `ms <label>` (ACCESS_STATS prints them). */
export async function timed<T>(stats: Map<string, number> | undefined, label: string, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    stats?.set(`ms ${label}`, (stats.get(`ms ${label}`) ?? 0) + Date.now() - start);
  }
}
