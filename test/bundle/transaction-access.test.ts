/**
 * Transaction Bundles whose later entries depend on the access facts of
 * earlier ones (CONTRACT §4.2, §4.3 Writes): the access policy reads its
 * facts — consent rules, document facts — through the session's executor,
 * i.e. inside the Bundle's transaction, where the earlier entries' rows (held
 * by the unit of work and written ahead of the facts reader's statement)
 * already are. Every row of the table depends on that, both ways: an earlier
 * entry that makes a later one allowed, and one that makes it refused.
 *
 * On the old behaviour (facts read on the pool, outside the transaction) the
 * earlier entries are uncommitted, so invisible to the rules: each row's
 * outcome flips (the comment of each row says how). A refusal leaves nothing
 * stored: not the entries before the refused one, nor a withdrawal.
 *
 * The caller is fixed per Bundle, which rules some dependencies out: the
 * author rule (author = one of the submitter's PractitionerRoles) reads roles
 * created earlier, but PractitionerRoles are directory data, written by
 * system clients only (a practitioner's Bundle holding one is refused
 * whatever follows), and a system client's authors are not checked; the
 * administrator precondition reads the activity history, which a patient's
 * own Bundle does not add to for the practitioner. Neither can change inside
 * one Bundle, so neither is here.
 */
import type { BundleEntry, Consent, OperationOutcome, Resource } from 'fhir/r4';
import { choice, documentReference, observation, patientResource } from '../access/builders';
import { send, startTestServer, type TestServer } from '../support/server';
import { postBundle } from './fixtures';

const TREG15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
const P = 'ta-dr';

type Who = 'patient' | 'practitioner';
let counter = 0;
const uuid = () => `urn:uuid:00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;

/** A POST entry (server id: the row is held by the unit of work). */
const post = (resource: Resource, fullUrl = uuid()): BundleEntry => {
  const { id: _id, ...body } = resource;
  return { fullUrl, resource: body as Resource, request: { method: 'POST', url: resource.resourceType } };
};
/** A PUT entry of a stored resource (withdrawals and what must run after them: PUTs run in entry order, after every POST). */
const put = (resource: Resource): BundleEntry => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });

const emergency = (patientId: string, effect: 'permit' | 'deny', purpose: 'ETREAT' | 'BTG' | 'MASKED', id?: string) => choice('emergency', patientId, { effect, purposes: [purpose], id });
const attested = (patientId: string, id?: string) => choice('authorize', patientId, { actors: [`Practitioner/${P}`], performer: `Practitioner/${P}`, id });
const withdrawn = (consent: Consent): Consent => ({ ...consent, status: 'inactive' });

interface Case {
  /** Stored before the Bundle, each by its maker. */
  seed: (patientId: string) => [Resource, Who][];
  caller: Who;
  entries: (patientId: string, seeded: Resource[]) => BundleEntry[];
  /** undefined: the transaction succeeds; else the entry refused and its status. */
  refused?: { entry: number; status: number; reason: RegExp };
}

const cases: [string, Case][] = [
  [
    // Old: neither denial is visible to the MASKED rule, so the permit passes and the Bundle commits (200).
    'patient: deny ETREAT, deny BTG, then permit MASKED → refused (MASKED while both are denied)',
    {
      seed: () => [],
      caller: 'patient',
      entries: (x) => [post(emergency(x, 'deny', 'ETREAT')), post(emergency(x, 'deny', 'BTG')), post(emergency(x, 'permit', 'MASKED'))],
      refused: { entry: 2, status: 422, reason: /MASKED cannot be permitted while both ETREAT and BTG are denied/ },
    },
  ],
  [
    // Old: the stored ETREAT denial is still active on the pool, so the permit is refused (422).
    'patient: ETREAT and BTG denied; withdraw the ETREAT denial, then permit MASKED → allowed',
    {
      seed: (x) => [
        [emergency(x, 'deny', 'ETREAT', `etreat-${x}`), 'patient'],
        [emergency(x, 'deny', 'BTG', `btg-${x}`), 'patient'],
        [{ ...emergency(x, 'permit', 'MASKED', `masked-${x}`), status: 'inactive' } as Consent, 'patient'], // not in force yet
      ],
      caller: 'patient',
      entries: (_x, [etreat, , masked]) => [put(withdrawn(etreat as Consent)), put({ ...(masked as Consent), status: 'active' } as Consent)],
    },
  ],
  [
    // Old: P's attestation is not in force on the pool, so P (TREAT, unauthorized) may not add health data (403).
    "practitioner P: P's authorize (attesting X's agreement), then an Observation of X → allowed",
    {
      seed: () => [],
      caller: 'practitioner',
      entries: (x) => [post(attested(x)), post(observation('obs', x))],
    },
  ],
  [
    // Old: P's authorize is still active on the pool, so the update passes and the withdrawal commits (200).
    "practitioner P: withdraw P's authorize, then update P's Observation of X → refused (P no longer sees it)",
    {
      seed: (x) => [
        [attested(x, `auth-${x}`), 'practitioner'],
        [observation(`obs-${x}`, x), 'practitioner'], // recorded while authorized
      ],
      caller: 'practitioner',
      entries: (_x, [authorize, recorded]) => [put(withdrawn(authorize as Consent)), put({ ...recorded, status: 'amended' } as Resource)],
      refused: { entry: 1, status: 404, reason: /Observation\/[^ ]+ is not known/ },
    },
  ],
  [
    // Old: D's facts (its author) are not on the pool, so P is not D's author and may not hide it (403).
    'practitioner P: a DocumentReference D by P, then hide D (hide-document) → allowed (P is its author)',
    {
      seed: () => [],
      caller: 'practitioner',
      entries: (x) => {
        const document = post(documentReference('d', x));
        const hide = choice('hide-document', x, { documents: ['d'], performer: `Practitioner/${P}` });
        hide.provision!.data![0].reference.reference = document.fullUrl; // the entry's D
        return [document, post(hide)];
      },
    },
  ],
];

describe('transaction Bundles: later entries see the access facts of earlier ones', () => {
  let server: TestServer;
  let operator: string;
  let practitioner: string;
  let patients = 0;

  const count = async (sql: string, patientId: string) => Number((await server.carnet.sql.query<{ n: string }>(sql, [patientId])).rows[0].n);
  /** Everything stored about X: versions, current rows, consent rules, document facts. */
  const stored = async (patientId: string) => ({
    versions: await count(`SELECT count(*) AS n FROM resource_versions WHERE patient_id = ? AND resource_type <> 'AuditEvent'`, patientId),
    rows: await count(`SELECT count(*) AS n FROM resources WHERE patient_id = ? AND resource_type <> 'AuditEvent'`, patientId),
    rules: await count('SELECT count(*) AS n FROM consent_rules WHERE patient_id = ?', patientId),
    facts: await count('SELECT count(*) AS n FROM access_facts WHERE patient_id = ?', patientId),
  });

  beforeAll(async () => {
    server = await startTestServer();
    operator = await server.systemToken('directory', 'system/*.*');
    const role = { resourceType: 'PractitionerRole', id: `${P}-role`, active: true, practitioner: { reference: `Practitioner/${P}` }, code: [{ coding: [{ system: TREG15, code: '10' }] }] };
    for (const resource of [{ resourceType: 'Practitioner', id: P }, role]) {
      expect((await send(server, 'put', `${resource.resourceType}/${resource.id}`, operator, resource)).status).toBe(201);
    }
    practitioner = await server.practitionerToken(P);
  });
  afterAll(() => server.close());

  it.each(cases)('%s', async (_name, { seed, caller, entries, refused }) => {
    const created = await send(server, 'post', 'Patient', operator, patientResource(`ta-${++patients}`)); // no account: open
    expect(created.status).toBe(201);
    const x = created.body.id as string;
    const tokens: Record<Who, string> = { patient: await server.patientToken(x), practitioner };
    const seeded = seed(x);
    for (const [resource, maker] of seeded) {
      const { id: _serverAssigned, ...body } = resource; // patient data: the server's ids
      const res = await send(server, 'post', resource.resourceType, tokens[maker], body);
      expect([res.status, res.body.issue]).toEqual([201, undefined]);
      resource.id = res.body.id as string;
    }
    const before = await stored(x);
    const bundle = entries(x, seeded.map(([resource]) => resource));

    const res = await postBundle(server, tokens[caller], { resourceType: 'Bundle', type: 'transaction', entry: bundle });

    if (refused) {
      expect(res.status).toBe(refused.status);
      const outcome = res.body as OperationOutcome;
      expect(outcome.issue[0].expression).toContain(`Bundle.entry[${refused.entry}]`);
      expect(outcome.issue[0].diagnostics ?? outcome.issue[0].details?.text).toMatch(refused.reason);
      expect(await stored(x)).toEqual(before); // nothing of any entry, the earlier ones included
      for (const [resource] of seeded) {
        const row = await server.carnet.sql.query<{ version_id: number }>('SELECT version_id FROM resources WHERE resource_type = ? AND id = ?', [resource.resourceType, resource.id as string]);
        expect(row.rows[0].version_id).toBe(1); // a withdrawal in the Bundle was rolled back with it
      }
    } else {
      expect([res.status, res.body.issue]).toEqual([200, undefined]);
      expect(res.body.entry.map((entry: BundleEntry) => entry.response?.status)).toEqual(bundle.map((entry) => (entry.request?.method === 'PUT' && seeded.some(([s]) => entry.request?.url === `${s.resourceType}/${s.id}`) ? '200 OK' : '201 Created')));
      const after = await stored(x);
      expect(after.versions).toBe(before.versions + bundle.length);
    }
  });
});
