/**
 * CONTRACT §6 and §4.2: what a reader of X's activity history is served
 * leaves out, whole, every event about a document that reader may not see —
 * INVISIBLE_PATIENT for X and X's legal representatives,
 * INVISIBLE_REPRESENTANTS_LEGAUX for the representatives — whether the event
 * names it as an entity (create, read, update, refused read) or in its query
 * (by `_id`, by a reference, by its Binary's reference): absent from search pages, `_total`, paging,
 * `$verify-audit`'s count, read and vread (the 404 of an unknown id), and its
 * mail to X is held. Once the author removes the label, every path serves it
 * (and the held mail goes out). The stored chain stays whole throughout. What
 * names a document is tabled in names.test.ts.
 */
import type { AuditEvent, Bundle, DocumentReference, Parameters } from 'fhir/r4';
import pino from 'pino';
import type { Caller } from '../../src/kernel/caller';
import type { FhirError } from '../../src/kernel/errors';
import type { FhirResponse, QueryParams } from '../../src/kernel/request';
import type { OutgoingMail } from '../../src/notify/mailer';
import { NotificationWorker } from '../../src/notify/worker';
import { binary, documentReference } from '../access/builders';
import { callers, observationFor, patientResource, startHarness, type Harness } from './harness';

type Kind = 'create' | 'read' | 'search by _id' | 'search by reference' | 'search naming its Binary' | 'update' | 'refused read';
type Label = 'INVISIBLE_PATIENT' | 'INVISIBLE_REPRESENTANTS_LEGAUX' | 'none';
type Reader = 'X' | 'representative';

const KINDS: Kind[] = ['create', 'read', 'search by _id', 'search by reference', 'search naming its Binary', 'update', 'refused read'];
const LABELS: Label[] = ['INVISIBLE_PATIENT', 'INVISIBLE_REPRESENTANTS_LEGAUX', 'none'];
const hiddenFrom = (label: Label, reader: Reader) => label === 'INVISIBLE_PATIENT' || (label === 'INVISIBLE_REPRESENTANTS_LEGAUX' && reader === 'representative');

let h: Harness;
/** The laboratory that created every seeded resource (so it reads them), and a client that created none of them. */
const lab = callers.system('seed-lab');
const otherLab = callers.system('other-lab');
let cases = 0;

beforeAll(async () => {
  h = await startHarness({ NOTIFY_WORKER: 'off' });
});
afterAll(() => h.close());

interface Scene {
  patientId: string;
  email: string;
  documentId: string;
  document: DocumentReference;
  /** X's stored events, oldest first: a control read of X's Observation, then those of the case, each naming the document. */
  control: string;
  aboutDocument: string[];
}

/** Patient X with a document labelled `label` (by the laboratory), a control event, then the events of `kind`. */
async function scene(kind: Kind, label: Label): Promise<Scene> {
  const n = ++cases;
  const email = `x${n}@example.org`;
  const patientId = (await h.seed(patientResource(`Hidden${n}`, email))).id;
  const observation = (await h.seed(observationFor(patientId))).id;
  expect((await h.call(lab, 'GET', `Observation/${observation}`)).status).toBe(200);
  const labels = label === 'none' ? [] : [label];
  const binaryId = (await h.seed(binary(`hidden-bin-${n}`))).id; // the document's content: it follows the document
  let document: DocumentReference;
  if (kind === 'create') {
    const body = documentReference('unused', patientId, { labels, binary: binaryId });
    const created = (await h.call(lab, 'POST', 'DocumentReference', { body, headers: { prefer: 'return=representation' } })) as FhirResponse;
    expect(created.status).toBe(201);
    document = created.body as DocumentReference;
  } else {
    document = await h.seed(documentReference(`hidden-doc-${n}`, patientId, { labels, binary: binaryId }));
  }
  const documentId = document.id as string;
  const act: Record<Kind, () => Promise<number>> = {
    create: async () => 201,
    read: async () => (await h.call(lab, 'GET', `DocumentReference/${documentId}`)).status,
    'search by _id': async () => (await h.call(otherLab, 'GET', 'DocumentReference', { query: [['patient', patientId], ['_id', documentId]] })).status,
    'search by reference': async () =>
      (await h.call(otherLab, 'GET', 'DocumentReference', { query: [['patient', `Patient/${patientId}`], ['relatesto', `DocumentReference/${documentId}`]] })).status,
    'search naming its Binary': async () =>
      (await h.call(otherLab, 'GET', 'DocumentReference', { query: [['patient', patientId], ['location', `Binary/${binaryId}`]] })).status,
    update: async () => (await h.call(lab, 'PUT', `DocumentReference/${documentId}`, { body: { ...document, description: 'relu' } })).status,
    'refused read': async () => (await h.call(otherLab, 'GET', `DocumentReference/${documentId}`)).status,
  };
  expect(await act[kind]()).toBe({ create: 201, update: 200, 'refused read': 404 }[kind as string] ?? 200);
  const { rows } = await h.server.carnet.sql.query<{ id: string }>('SELECT id FROM audit_events WHERE patient_id = ? ORDER BY seq', [patientId]);
  const [control, ...aboutDocument] = rows.map((row) => row.id);
  expect(aboutDocument.length).toBeGreaterThan(0);
  return { patientId, email, documentId, document, control, aboutDocument };
}

/** The author removes the label (written as the laboratory, outside the audit). */
async function unlabel(s: Scene): Promise<void> {
  await h.seed({ ...s.document, securityLabel: undefined } as DocumentReference);
}

const readerOf = (reader: Reader, patientId: string): Caller => (reader === 'X' ? callers.patient(patientId) : callers.representative(`rep-of-${patientId}`, patientId));
const bodyOf = (result: FhirResponse | FhirError) => (result as FhirResponse).body as Bundle;
const idsOf = (bundle: Bundle) => (bundle.entry ?? []).map((entry) => (entry.resource as AuditEvent).id as string);

/** Events of X by `agent` (a representative's readings of X's history are in it). */
async function eventsBy(s: Scene, agent: string): Promise<number> {
  const { rows } = await h.server.carnet.sql.query<{ n: string }>('SELECT count(*) AS n FROM audit_events WHERE patient_id = ? AND agent = ?', [s.patientId, agent]);
  return Number(rows[0].n);
}

/** What the reader is served on every path of the history, of the laboratories' events. */
async function served(caller: Caller, s: Scene) {
  const search = (query: QueryParams) => h.call(caller, 'GET', 'AuditEvent', { query: [['patient', s.patientId], ['agent', 'seed-lab,other-lab'], ...query] });
  const all = bodyOf(await search([['_count', '1000'], ['_total', 'accurate']]));
  const paged: string[] = [];
  let page = bodyOf(await search([['_count', '1']]));
  for (let i = 0; i < 20; i++) {
    expect(page.entry ?? []).toHaveLength(1); // pages stay full
    paged.push(...idsOf(page));
    const next = page.link?.find((link) => link.relation === 'next')?.url;
    if (!next) break;
    page = bodyOf(await search([['_count', '1'], ['_page', new URL(next).searchParams.get('_page') as string]]));
  }
  const byId = async (path: (id: string) => string) => {
    const statuses: Record<string, number> = {};
    for (const id of [s.control, ...s.aboutDocument]) statuses[id] = (await h.call(caller, 'GET', path(id))).status;
    return statuses;
  };
  const readings = caller.kind === 'related-person' ? await eventsBy(s, `RelatedPerson/${caller.relatedPersonId}`) : 0;
  const verify = (await h.call(caller, 'GET', `Patient/${s.patientId}/$verify-audit`)) as FhirResponse;
  const report = verify.body as Parameters;
  return {
    search: idsOf(all).sort(),
    total: all.total,
    paging: paged,
    read: await byId((id) => `AuditEvent/${id}`),
    vread: await byId((id) => `AuditEvent/${id}/_history/1`),
    verified: report.parameter?.find((p) => p.name === 'result')?.valueBoolean,
    verifiedEvents: (report.parameter?.find((p) => p.name === 'events')?.valueInteger ?? 0) - readings,
  };
}

/** What `served` must give when the events in `shown` (newest last) are served, and the others are as unknown ids. */
function expected(s: Scene, shown: string[]) {
  const status = (id: string) => (shown.includes(id) ? 200 : 404);
  const statuses = Object.fromEntries([s.control, ...s.aboutDocument].map((id) => [id, status(id)]));
  return { search: [...shown].sort(), total: shown.length, paging: [...shown].reverse(), read: statuses, vread: statuses, verified: true, verifiedEvents: shown.length };
}

const table = KINDS.flatMap((kind) => LABELS.flatMap((label) => (['X', 'representative'] as Reader[]).map((reader) => [kind, label, reader, hiddenFrom(label, reader)] as const)));

describe('the history leaves out events about a document its reader may not see', () => {
  it.each(table)('%s of a document labelled %s, read by %s: left out = %s, until the label is removed', async (kind, label, reader, hidden) => {
    const s = await scene(kind, label);
    const caller = readerOf(reader, s.patientId);
    const everything = [s.control, ...s.aboutDocument];
    expect(await served(caller, s)).toEqual(expected(s, hidden ? [s.control] : everything));
    await unlabel(s);
    expect(await served(caller, s)).toEqual(expected(s, everything));
  });

  it('a hidden event read by id answers exactly what an unknown id answers', async () => {
    const s = await scene('read', 'INVISIBLE_PATIENT');
    const caller = callers.patient(s.patientId);
    const [hiddenId] = s.aboutDocument;
    const unknown = hiddenId.replace(/[0-9a-f]/g, '0');
    const answer = (result: FhirResponse | FhirError, id: string) => {
      const error = result as FhirError;
      return { status: result.status, headers: error.headers, issues: error.issues?.map((issue) => ({ ...issue, message: issue.message.split(id).join('ID') })) };
    };
    for (const path of ['AuditEvent/ID', 'AuditEvent/ID/_history/1', 'AuditEvent/ID/_history']) {
      const ofHidden = answer(await h.call(caller, 'GET', path.replace('ID', hiddenId)), hiddenId);
      expect(ofHidden.status).toBe(404);
      expect(ofHidden).toEqual(answer(await h.call(caller, 'GET', path.replace('ID', unknown)), unknown));
    }
  });

  it('the stored events and their chain stay whole: a listed verifier counts every one', async () => {
    const s = await scene('read', 'INVISIBLE_PATIENT');
    const { rows } = await h.server.carnet.sql.query<{ n: string }>('SELECT count(*) AS n FROM audit_events WHERE patient_id = ?', [s.patientId]);
    expect(Number(rows[0].n)).toBe(1 + s.aboutDocument.length);
    const report = (await h.call(callers.patient(s.patientId), 'GET', `Patient/${s.patientId}/$verify-audit`)) as FhirResponse;
    expect((report.body as Parameters).parameter?.[0]).toEqual({ name: 'result', valueBoolean: true });
  });
});

describe('the mail about such an event is held while the document is hidden from X', () => {
  const mails: OutgoingMail[] = [];
  let worker: NotificationWorker;
  beforeAll(() => {
    worker = new NotificationWorker({
      db: h.server.carnet.sql,
      holds: h.server.carnet.audit.holds,
      settings: { from: 'Carnet <notifications@carnet.test>', digestMinutes: 0, worker: false },
      logger: pino({ level: 'silent' }),
      mailer: { send: async (mail) => void mails.push(mail), close: () => {} },
    });
  });
  afterAll(() => worker.stop());

  /** Runs the worker until nothing is due; returns the mails sent to `email` meanwhile. */
  async function drain(email: string): Promise<number> {
    const before = mails.length;
    for (let i = 0; i < 50 && (await worker.runOnce()) > 0; i++);
    return mails.slice(before).filter((mail) => mail.to === email).length;
  }

  it.each(KINDS.flatMap((kind) => LABELS.map((label) => [kind, label, hiddenFrom(label, 'X')] as const)))(
    '%s of a document labelled %s: mail held = %s, sent once the label is removed',
    async (kind, label, held) => {
      const s = await scene(kind, label);
      expect(await drain(s.email)).toBe(held ? 1 : 1 + s.aboutDocument.length);
      await unlabel(s);
      await h.server.carnet.sql.query('UPDATE notification_outbox SET next_attempt_at = now() WHERE patient_id = ?', [s.patientId]); // the hold's wait has passed
      expect(await drain(s.email)).toBe(held ? s.aboutDocument.length : 0);
      const { rows } = await h.server.carnet.sql.query<{ status: string; attempts: number }>('SELECT status, attempts FROM notification_outbox WHERE patient_id = ?', [s.patientId]);
      expect(rows.map((row) => [row.status, row.attempts])).toEqual(rows.map(() => ['sent', 1])); // a held mail's wait is not an attempt
    },
  );
});
