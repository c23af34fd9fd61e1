/**
 * The patient's door end to end over HTTP on the real server (§7): enrolment, opposition,
 * automatic opening, activation, login with the one-time code, refresh, contact and
 * password changes, closure and retention, representatives, rate limits — with their
 * failure paths — and, last, the server's log of the whole suite holds no code, password,
 * NIR or token.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import supertest from 'supertest';
import type { Resource } from 'fhir/r4';
import { startTestServer, send, get, type TestServer } from '../support/server';
import { nextCode, nextMessage } from '../support/messages';
import { ManualClock, DAY, MINUTE, WEEK } from '../../src/accounts/clock';
import { documentReference, practitioner, roleResources } from '../access/builders';

const INS = 'urn:oid:1.2.250.1.213.1.4.8';
const SERIAL = '123456789012';
const PASSWORD = 'Violette-Jardin-Ombre-42';
const secrets: string[] = [PASSWORD];
const log: string[] = [];
const clock = new ManualClock(new Date('2026-12-01T09:00:00Z'));
let server: TestServer;
let insurer: string;
let gp: string;
let nirCounter = 0;

/** A fresh NIR for each test (the insurer enrols each person once). */
function nextNir(sex: '1' | '2' = '2', year = '80'): string {
  nirCounter++;
  const nir = `${sex}${year}0175${String(100 + nirCounter).padStart(3, '0')}${String(nirCounter).padStart(3, '0')}${String(10 + (nirCounter % 80)).padStart(2, '0')}`;
  secrets.push(nir);
  return nir;
}

function patientBody(nir: string, birthDate = '1980-01-15'): Resource {
  return { resourceType: 'Patient', identifier: [{ system: INS, value: nir }], name: [{ family: 'Durand', given: ['Marie'] }], birthDate, gender: 'female' } as Resource;
}

const post = (path: string, body: unknown, token?: string) => {
  const request = server.request.post(path).set('Content-Type', 'application/json');
  if (token) request.set('Authorization', `Bearer ${token}`);
  return request.send(JSON.stringify(body));
};

/** The token endpoint's refresh_token grant (form-encoded, as OAuth clients send it). */
const refresh = (refreshToken: string, space?: string) =>
  server.request
    .post('/auth/token')
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: refreshToken, ...(space ? { space } : {}) });

async function enrol(nir = nextNir(), extra: Record<string, unknown> = {}) {
  const email = `p${nirCounter}@example.org`;
  const response = await post('/account/enrol', { patient: patientBody(nir), vitaleSerial: SERIAL, email, ...extra }, insurer);
  expect(response.status).toBe(201);
  secrets.push(response.body.code);
  return { nir, email, id: (response.body.patient as string).split('/')[1], code: response.body.code as string, body: response.body };
}

async function activate(space: { nir: string; code: string; email: string }) {
  const response = await post('/account/activate', { code: space.code, nir: space.nir, vitaleSerial: SERIAL, password: PASSWORD });
  expect(response.status).toBe(200);
  return response;
}

async function logIn(nir: string, email: string, password = PASSWORD) {
  const started = await post('/auth/login', { nir, password });
  expect(started.status).toBe(200);
  const code = await nextCode(server, { to: email, template: 'login-code' });
  secrets.push(code);
  const verified = await post('/auth/login/verify', { challengeId: started.body.challengeId, code });
  expect(verified.status).toBe(200);
  secrets.push(verified.body.access_token, verified.body.refresh_token);
  return verified.body as { access_token: string; refresh_token: string; patient: string; fhirUser: string; spaces: { fhirUser: string }[] };
}

beforeAll(async () => {
  const capture = new Writable({
    write(chunk, _encoding, done) {
      log.push(String(chunk));
      done();
    },
  });
  server = await startTestServer({ AUTH_FAILURES_PER_ACCOUNT: '4', AUTH_FAILURES_PER_IP: '1000' }, { clock, logger: pino({ level: 'trace' }, capture) });
  insurer = await server.systemToken('insurer', 'system/Patient.write system/Patient.read');
  const doctor = practitioner('gp-1', ['10']);
  await server.put({ resourceType: 'Practitioner', id: 'gp-1', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.1', value: '810000000001' }] } as Resource);
  for (const role of roleResources(doctor)) await server.put(role);
  gp = await server.practitionerToken('gp-1');
  secrets.push(insurer, gp);
});

afterAll(async () => {
  if (process.env.DEBUG_ACCOUNTS) console.log(log.filter((line) => line.includes("\"level\":50")).join(""));
  await server?.close();
});

describe('enrolment', () => {
  it('creates the Patient and a pending account, and sends the provisional code once by letter and email', async () => {
    const space = await enrol();
    expect(space.code).toMatch(/^[ACDEFGHJKMNPQRTUVWXY34679]{12}$/);
    expect(new Date(space.body.expires).getTime() - clock.now().getTime()).toBe(6 * WEEK);
    const letter = await nextMessage(server, { to: `Patient/${space.id}`, template: 'enrolment-code' });
    const email = await nextMessage(server, { to: space.email, template: 'enrolment-code' });
    expect(letter.channel).toBe('letter');
    expect(letter.text).toContain(space.code);
    expect(email.params.code).toBe(space.code);
    const read = await get(server, `Patient/${space.id}`, insurer);
    expect(read.status).toBe(200);
    const stored = await server.carnet.sql.query<{ code_key: string }>('SELECT code_key FROM accounts WHERE subject = ?', [`Patient/${space.id}`]);
    expect(stored.rows[0].code_key).not.toContain(space.code);
  });

  it('refuses the same NIR twice (409)', async () => {
    const space = await enrol();
    const again = await post('/account/enrol', { patient: patientBody(space.nir), vitaleSerial: SERIAL }, insurer);
    expect(again.status).toBe(409);
    expect(again.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['no body', undefined, 400],
    ['no patient', { vitaleSerial: SERIAL }, 400],
    ['a serial of letters', { patient: 'P', vitaleSerial: 'ABCDEFGH' }, 400],
    ['a serial of 7 digits', { patient: 'P', vitaleSerial: '1234567' }, 400],
    ['no INS-NIR', { patient: { resourceType: 'Patient', name: [{ family: 'X' }] }, vitaleSerial: SERIAL }, 422],
    ['a representative who is not one', { patient: 'P', vitaleSerial: SERIAL, representatives: [{ resourceType: 'RelatedPerson', relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'FRND' }] }] }] }, 422],
  ])('answers %s with %i', async (_case, body, status) => {
    const withPatient = body && (body as { patient?: unknown }).patient === 'P' ? { ...body, patient: patientBody(nextNir()) } : body;
    const response = await post('/account/enrol', withPatient ?? null, insurer);
    expect(response.status).toBe(status);
    expect(response.body.resourceType).toBe('OperationOutcome');
  });

  it.each([
    ['a practitioner', () => gp],
    ['a system client without Patient.write', () => server.systemToken('lab', 'system/DocumentReference.write')],
  ])('is refused to %s (403)', async (_case, token) => {
    const response = await post('/account/enrol', { patient: patientBody(nextNir()), vitaleSerial: SERIAL }, await token());
    expect(response.status).toBe(403);
  });
});

describe('opposition, opening and activation', () => {
  it('erases the space on opposition, keeps no NIR in clear, and refuses a new enrolment', async () => {
    const space = await enrol();
    const wrong = await post('/account/oppose', { code: space.code, nir: space.nir, vitaleSerial: '999999999' });
    expect(wrong.status).toBe(400);
    const opposed = await post('/account/oppose', { code: space.code, nir: space.nir, vitaleSerial: SERIAL });
    expect(opposed.status).toBe(200);
    expect((await get(server, `Patient/${space.id}`, insurer)).status).toBe(404);
    const left = await server.carnet.sql.query(`SELECT 1 FROM resource_versions WHERE id = ? OR patient_id = ?`, [space.id, space.id]);
    expect(left.rows).toHaveLength(0);
    const record = await server.carnet.sql.query<Record<string, unknown>>('SELECT * FROM account_oppositions');
    expect(JSON.stringify(record.rows)).not.toContain(space.nir);
    expect(record.rows.length).toBeGreaterThan(0);
    expect((await post('/account/enrol', { patient: patientBody(space.nir), vitaleSerial: SERIAL }, insurer)).status).toBe(409);
  });

  it('refuses submissions while pending (422) and accepts them once the six weeks are over', async () => {
    const start = clock.now();
    const space = await enrol();
    const document = documentReference('ignored', space.id, { authors: ['Practitioner/gp-1'] });
    delete document.id;
    const early = await send(server, 'post', 'DocumentReference', gp, document);
    expect(early.status).toBe(422);
    clock.set(new Date(start.getTime() + 6 * WEEK + MINUTE));
    try {
      const late = await send(server, 'post', 'DocumentReference', gp, document);
      expect(late.status).toBe(201);
      const state = await server.carnet.sql.query<{ state: string }>('SELECT state FROM accounts WHERE subject = ?', [`Patient/${space.id}`]);
      expect(state.rows[0].state).toBe('open');
    } finally {
      clock.set(start);
    }
  });

  it('opens by the periodic job and tells the patient 48 hours later', async () => {
    const start = clock.now();
    const space = await enrol();
    try {
      clock.set(new Date(start.getTime() + 6 * WEEK));
      expect((await server.carnet.accounts.lifecycle.tick()).opened).toBeGreaterThanOrEqual(1);
      clock.set(new Date(start.getTime() + 6 * WEEK + 2 * DAY));
      await server.carnet.accounts.lifecycle.tick();
      const notice = await nextMessage(server, { to: space.email, template: 'opening-notice' });
      expect(notice.channel).toBe('email');
    } finally {
      clock.set(start);
    }
  });

  it.each([
    ['a wrong code', (s: { code: string; nir: string }) => ({ code: 'ACDEFGHJKMNP', nir: s.nir, vitaleSerial: SERIAL })],
    ['a wrong NIR', (s: { code: string; nir: string }) => ({ code: s.code, nir: '299999999999999', vitaleSerial: SERIAL })],
    ['a wrong serial', (s: { code: string; nir: string }) => ({ code: s.code, nir: s.nir, vitaleSerial: '99999999' })],
    ['no serial', (s: { code: string; nir: string }) => ({ code: s.code, nir: s.nir })],
  ])('answers %s with the one same 400', async (_case, proof) => {
    const space = await enrol();
    const response = await post('/account/activate', { ...proof(space), password: PASSWORD });
    expect(response.status).toBe(400);
    const reference = await post('/account/activate', { code: 'ACDEFGHJKMNP', nir: space.nir, vitaleSerial: SERIAL, password: PASSWORD });
    expect(response.body).toEqual(reference.body);
  });

  it('refuses an expired code', async () => {
    const start = clock.now();
    const space = await enrol();
    clock.set(new Date(start.getTime() + 6 * WEEK + 1000));
    try {
      const response = await post('/account/activate', { code: space.code, nir: space.nir, vitaleSerial: SERIAL, password: PASSWORD });
      expect(response.status).toBe(400);
    } finally {
      clock.set(start);
    }
  });

  it.each([
    ['too short', 'Abc-12345', /12/],
    ['common', 'password1234', /deviner/],
    ['a keyboard row', 'azertyuiop12', /deviner/],
  ])('refuses a password that is %s, and says why', async (_case, password, why) => {
    const space = await enrol();
    const response = await post('/account/activate', { code: space.code, nir: space.nir, vitaleSerial: SERIAL, password });
    expect(response.status).toBe(400);
    expect(response.body.issue[0].diagnostics).toMatch(why);
    expect(response.body.issue[0].expression).toEqual(['password']);
  });

  it('activates with the code, NIR, serial and a good password; the code is single use; opposition is then 400', async () => {
    const space = await enrol();
    const response = await activate(space);
    expect(response.body).toMatchObject({ state: 'active', patient: space.id });
    const again = await post('/account/activate', { code: space.code, nir: space.nir, vitaleSerial: SERIAL, password: PASSWORD });
    expect(again.status).toBe(400);
    const oppose = await post('/account/oppose', { code: space.code, nir: space.nir, vitaleSerial: SERIAL });
    expect(oppose.status).toBe(400);
    const hash = await server.carnet.sql.query<{ password_hash: string }>('SELECT password_hash FROM account_logins');
    expect(hash.rows.every((row) => row.password_hash.startsWith('$argon2id$'))).toBe(true);
  });
});

describe('login', () => {
  it('logs in with the password and the one-time code; the token reads the own space', async () => {
    const space = await enrol();
    await activate(space);
    const tokens = await logIn(space.nir, space.email);
    expect(tokens).toMatchObject({ patient: space.id, fhirUser: `Patient/${space.id}`, token_type: 'Bearer' });
    const read = await get(server, `Patient/${space.id}`, tokens.access_token);
    expect(read.status).toBe(200);
  });

  it('answers a wrong NIR and a wrong password with the same 401', async () => {
    const space = await enrol();
    await activate(space);
    const wrongPassword = await post('/auth/login', { nir: space.nir, password: 'Not-The-Password-99' });
    const wrongNir = await post('/auth/login', { nir: '180017599999999', password: PASSWORD });
    expect(wrongPassword.status).toBe(401);
    expect(wrongNir.status).toBe(401);
    expect(wrongNir.body).toEqual(wrongPassword.body);
  });

  it('refuses a replayed, a wrong and an expired one-time code, and ends the challenge after five wrong ones', async () => {
    const space = await enrol();
    await activate(space);
    const login = async () => {
      const started = await post('/auth/login', { nir: space.nir, password: PASSWORD });
      return { id: started.body.challengeId as string, code: await nextCode(server, { to: space.email, template: 'login-code' }) };
    };
    const first = await login();
    expect((await post('/auth/login/verify', { challengeId: first.id, code: first.code })).status).toBe(200);
    expect((await post('/auth/login/verify', { challengeId: first.id, code: first.code })).status).toBe(401); // replayed

    const second = await login();
    const wrong = second.code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect((await post('/auth/login/verify', { challengeId: second.id, code: wrong })).status).toBe(401);
    expect((await post('/auth/login/verify', { challengeId: second.id, code: second.code })).status).toBe(401); // ended

    const third = await login();
    const start = clock.now();
    clock.set(new Date(start.getTime() + 10 * MINUTE + 1000));
    try {
      expect((await post('/auth/login/verify', { challengeId: third.id, code: third.code })).status).toBe(401);
    } finally {
      clock.set(start);
    }
  });

  it('limits repeated failures per account: 429 with Retry-After, even with the right password', async () => {
    const space = await enrol();
    await activate(space);
    for (let i = 0; i < 4; i++) expect((await post('/auth/login', { nir: space.nir, password: `Wrong-Password-${i}-x` })).status).toBe(401);
    const limited = await post('/auth/login', { nir: space.nir, password: PASSWORD });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body.resourceType).toBe('OperationOutcome');
  });

  it('shares the limit between server processes: failures on two of them add up', async () => {
    const space = await enrol();
    await activate(space);
    const other = await server.sibling();
    try {
      const servers = [server.request, supertest(other.app)];
      for (let i = 0; i < 4; i++) {
        const response = await servers[i % 2].post('/auth/login').set('Content-Type', 'application/json').send({ nir: space.nir, password: `Wrong-Password-${i}-y` });
        expect(response.status).toBe(401);
      }
      const limited = await servers[0].post('/auth/login').set('Content-Type', 'application/json').send({ nir: space.nir, password: PASSWORD });
      expect(limited.status).toBe(429);
    } finally {
      await other.close();
    }
  });

  it('rotates the refresh token; a reused one ends the whole session', async () => {
    const space = await enrol();
    await activate(space);
    const tokens = await logIn(space.nir, space.email);
    const first = await refresh(tokens.refresh_token);
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('no-store');
    expect(first.body).toMatchObject({ token_type: 'Bearer', patient: space.id, fhirUser: `Patient/${space.id}` });
    secrets.push(first.body.access_token, first.body.refresh_token);
    expect((await get(server, `Patient/${space.id}`, first.body.access_token)).status).toBe(200);
    const reused = await refresh(tokens.refresh_token);
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    expect((await refresh(first.body.refresh_token)).body.error).toBe('invalid_grant'); // the family ended with the reuse
    expect((await refresh('not-a-token')).body.error).toBe('invalid_grant');
    expect((await refresh(tokens.refresh_token, 'Patient/someone-else')).status).toBe(400);
  });

  it('ends the session on logout', async () => {
    const space = await enrol();
    await activate(space);
    const tokens = await logIn(space.nir, space.email);
    expect((await post('/auth/logout', { refresh_token: tokens.refresh_token })).status).toBe(204);
    expect((await refresh(tokens.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('changes the password: old refresh tokens end, the person is told, the new password logs in', async () => {
    const space = await enrol();
    await activate(space);
    const tokens = await logIn(space.nir, space.email);
    const next = 'Nouveau-Chemin-Lavande-77';
    secrets.push(next);
    const changed = await post('/account/password', { currentPassword: PASSWORD, newPassword: next }, tokens.access_token);
    expect(changed.status).toBe(204);
    await nextMessage(server, { to: space.email, template: 'password-changed' });
    expect((await refresh(tokens.refresh_token)).body.error).toBe('invalid_grant');
    expect((await post('/auth/login', { nir: space.nir, password: PASSWORD })).status).toBe(401);
    await logIn(space.nir, space.email, next);
  });

  it('resets a forgotten password with the NIR, the serial and a code to the registered contact', async () => {
    const space = await enrol();
    await activate(space);
    const unknown = await post('/auth/reset', { nir: '180017599999998', vitaleSerial: SERIAL });
    const started = await post('/auth/reset', { nir: space.nir, vitaleSerial: SERIAL });
    expect(started.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(Object.keys(unknown.body)).toEqual(Object.keys(started.body));
    const code = await nextCode(server, { to: space.email, template: 'reset-code' });
    const next = 'Riviere-Sous-Le-Pont-58';
    secrets.push(code, next);
    expect((await post('/auth/reset/verify', { challengeId: started.body.challengeId, code, password: next })).status).toBe(204);
    await logIn(space.nir, space.email, next);
  });

  it('changes the contact with a code sent to the new one; old and new are told', async () => {
    const space = await enrol();
    await activate(space);
    const tokens = await logIn(space.nir, space.email);
    const newEmail = `new-${nirCounter}@example.org`;
    const started = await post('/account/contact', { email: newEmail }, tokens.access_token);
    expect(started.status).toBe(202);
    const code = await nextCode(server, { to: newEmail, template: 'contact-code' });
    expect((await post('/account/contact/verify', { challengeId: started.body.challengeId, code: code === '000000' ? '111111' : '000000' }, tokens.access_token)).status).toBe(401);
    const second = await post('/account/contact', { email: newEmail }, tokens.access_token);
    const code2 = await nextCode(server, { to: newEmail, template: 'contact-code' });
    expect((await post('/account/contact/verify', { challengeId: second.body.challengeId, code: code2 }, tokens.access_token)).status).toBe(204);
    await nextMessage(server, { to: space.email, template: 'contact-changed' });
    await nextMessage(server, { to: newEmail, template: 'contact-changed' });
    await logIn(space.nir, newEmail);
  });
});

describe('representatives', () => {
  it('enrols a minor with a parent, who activates with their own NIR and enters the minor space', async () => {
    const parentNir = nextNir('1', '75');
    const minorNir = nextNir('2', '15');
    const parentEmail = `parent-${nirCounter}@example.org`;
    const response = await post(
      '/account/enrol',
      {
        patient: patientBody(minorNir, '2015-06-01'),
        vitaleSerial: SERIAL,
        representatives: [
          {
            resourceType: 'RelatedPerson',
            identifier: [{ system: INS, value: parentNir }],
            relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'MTH' }] }],
            name: [{ family: 'Durand', given: ['Anne'] }],
            telecom: [{ system: 'email', value: parentEmail }],
          },
        ],
      },
      insurer,
    );
    expect(response.status).toBe(201);
    const [representative] = response.body.representatives as { relatedPerson: string; code: string }[];
    secrets.push(representative.code);
    expect(representative.code).not.toBe(response.body.code);
    expect(await nextCode(server, { to: parentEmail, template: 'enrolment-code' })).toBe(representative.code);
    const activated = await post('/account/activate', { code: representative.code, nir: parentNir, vitaleSerial: SERIAL, password: PASSWORD });
    expect(activated.status).toBe(200);
    const tokens = await logIn(parentNir, parentEmail);
    expect(tokens.fhirUser).toBe(representative.relatedPerson);
    const minor = (response.body.patient as string).split('/')[1];
    expect(tokens.patient).toBe(minor);
    expect((await get(server, `Patient/${minor}`, tokens.access_token)).status).toBe(200);
  });
});

describe('closure and retention', () => {
  it('closes the space: nobody reaches it, logins and refresh tokens end, the data goes after the retention period', async () => {
    const start = clock.now();
    const space = await enrol();
    await activate(space);
    const tokens = await logIn(space.nir, space.email);
    const document = documentReference('ignored', space.id);
    delete document.id;
    expect((await send(server, 'post', 'DocumentReference', tokens.access_token, document)).status).toBe(201);
    const closed = await post('/account/close', {}, tokens.access_token);
    expect(closed.status).toBe(200);
    expect((await get(server, `Patient/${space.id}`, tokens.access_token)).status).toBe(404);
    expect((await get(server, `Patient/${space.id}`, insurer)).status).toBe(404);
    expect((await post('/auth/login', { nir: space.nir, password: PASSWORD })).status).toBe(401);
    expect((await refresh(tokens.refresh_token)).body.error).toBe('invalid_grant');
    const kept = await server.carnet.sql.query('SELECT 1 FROM resources WHERE patient_id = ?', [space.id]);
    expect(kept.rows.length).toBeGreaterThan(0);
    clock.set(new Date(start.getTime() + 10 * 366 * DAY));
    try {
      expect((await server.carnet.accounts.lifecycle.tick()).purged).toBeGreaterThanOrEqual(1);
    } finally {
      clock.set(start);
    }
    const gone = await server.carnet.sql.query('SELECT 1 FROM resource_versions WHERE patient_id = ? OR id = ?', [space.id, space.id]);
    expect(gone.rows).toHaveLength(0);
    const record = await server.carnet.sql.query<{ state: string; closed_at: Date; purged_at: Date }>('SELECT state, closed_at, purged_at FROM accounts WHERE subject = ?', [`Patient/${space.id}`]);
    expect(record.rows[0]).toMatchObject({ state: 'closed' });
    expect(record.rows[0].purged_at).toBeInstanceOf(Date);
  });

  it('closes a space that has no account (a Patient created through the FHIR API, a token of a trusted provider)', async () => {
    const created = await send(server, 'post', 'Patient', insurer, patientBody(nextNir()));
    expect(created.status).toBe(201);
    const token = await server.patientToken(created.body.id);
    secrets.push(token);
    expect((await get(server, `Patient/${created.body.id}`, token)).status).toBe(200);
    expect((await post('/account/close', {}, token)).status).toBe(200);
    expect((await get(server, `Patient/${created.body.id}`, token)).status).toBe(404);
    expect((await post('/account/close', {}, token)).status).toBe(404);
    const history = await server.carnet.sql.query<{ action: string }>('SELECT action FROM audit_events WHERE patient_id = ? ORDER BY seq DESC LIMIT 1', [created.body.id]);
    expect(history.rows[0].action).toBe('D'); // the closure, recorded in X's chain
  });

  it('refuses closure to anyone but the patient', async () => {
    const space = await enrol();
    expect((await post('/account/close', {}, gp)).status).toBe(403);
    expect((await post('/account/close', {}, insurer)).status).toBe(403);
    expect((await get(server, `Patient/${space.id}`, insurer)).status).toBe(200);
  });
});

describe('the log of the whole suite', () => {
  it('holds no code, password, NIR or token', () => {
    const text = log.join('');
    expect(text.length).toBeGreaterThan(1000);
    const leaked = secrets.filter((secret) => secret && text.includes(secret));
    expect(leaked).toEqual([]);
  });
});
