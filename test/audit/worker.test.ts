/**
 * CONTRACT §6 notifications, against a real SMTP server on loopback: one mail
 * per action in French and English (who and when, no health data), skipped
 * without an address, retried with backoff when the server refuses or is
 * down, never lost nor sent twice when a worker dies after claiming (in
 * process, and as a killed `npm run worker` process), digests per patient,
 * emergencies at once, and nothing sent (but a log line) without SMTP_URL.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import pino from 'pino';
import type { Patient } from 'fhir/r4';
import { Outbox } from '../../src/notify/outbox';
import type { NotifySettings } from '../../src/notify/settings';
import { NotificationWorker, type WorkerOptions } from '../../src/notify/worker';
import type { Caller } from '../../src/kernel/caller';
import { callers, observationFor, patientResource, startHarness, type Harness } from './harness';
import { startSink, type SmtpSink } from './smtp-sink';

let h: Harness;
let sink: SmtpSink;
let alice: string;
let aliceObs: string;
let bob: string;
let bobObs: string;
let emma: string;
let emmaObs: string;
let doctor: Caller;
let blocked: Caller;
const silent = pino({ level: 'silent' });
const workers: NotificationWorker[] = [];
const DR_MARTIN = { prefix: ['Dr'], given: ['Jeanne'], family: 'Martin' };

/** The server's mail settings: the loopback sink, its in-process worker off (each test runs the worker it needs). */
const serverEnv = (more: Record<string, string> = {}) => ({ SMTP_URL: sink.url, NOTIFY_FROM: 'Carnet <notifications@carnet.test>', NOTIFY_WORKER: 'off', ...more });
const settings = (over: Partial<NotifySettings> = {}): NotifySettings => ({ smtpUrl: sink.url, from: 'Carnet <notifications@carnet.test>', digestMinutes: 0, worker: true, ...over });
/** A worker as `npm run worker` runs one, on the server's database. */
function worker(over: Partial<WorkerOptions> = {}): NotificationWorker {
  const w = new NotificationWorker({ db: h.server.carnet.sql, holds: h.server.carnet.audit.holds, settings: settings(), logger: silent, retry: { retryBaseMs: 100 }, ...over });
  workers.push(w);
  return w;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const read = (caller: Caller, obs: string, headers: Record<string, string> = {}) => h.call(caller, 'GET', `Observation/${obs}`, { headers });

async function outboxRows() {
  const result = await h.server.carnet.db.raw<{ rows: { id: string; status: string; attempts: number; last_error: string | null; patient_id: string }[] }>(
    'SELECT id, status, attempts, last_error, patient_id FROM notification_outbox ORDER BY id',
  );
  return result.rows;
}

/** Each test starts with an empty queue and an empty mailbox. */
beforeEach(async () => {
  await h.server.carnet.db.raw(`UPDATE notification_outbox SET status = 'skipped', claim_token = NULL WHERE status = 'pending'`);
  sink.messages.length = 0;
});

beforeAll(async () => {
  sink = await startSink();
  h = await startHarness(serverEnv());
  alice = (await h.seed(patientResource('Alice', 'alice@example.org'))).id;
  bob = (await h.seed(patientResource('Bob'))).id;
  emma = (await h.seed({ ...(patientResource('Emma', 'emma@example.org') as Patient), communication: [{ language: { coding: [{ code: 'en' }] }, preferred: true }] })).id;
  aliceObs = (await h.seed(observationFor(alice, 'charge virale VIH'))).id;
  bobObs = (await h.seed(observationFor(bob))).id;
  emmaObs = (await h.seed(observationFor(emma))).id;
  // Dr Martin: a médecin and SAMU regulator the three patients authorized; 'blocked', blocked by Alice
  doctor = await h.practitioner('martin', { samu: true, name: DR_MARTIN });
  for (const patient of [alice, bob, emma]) await h.authorize(patient, 'martin');
  blocked = await h.practitioner('blocked');
  await h.block(alice, 'blocked');
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await h.close();
  await sink.close();
});

describe('mails', () => {
  it('one mail per action, French then English, saying who and when — no data, codes or ids', async () => {
    await read(doctor, aliceObs);
    await read(doctor, aliceObs);
    expect(await worker().runOnce()).toBe(2);
    expect(sink.messages).toHaveLength(2);
    const [mail] = sink.messages;
    expect(mail.to).toEqual(['alice@example.org']);
    expect(mail.subject).toBe('Carnet : Nouvelle activité sur votre espace santé / New activity on your health space');
    expect(mail.text).toContain('Dr Jeanne Martin a consulté votre espace santé');
    expect(mail.text).toContain('Dr Jeanne Martin viewed your health space');
    expect(mail.text.indexOf('Bonjour')).toBeLessThan(mail.text.indexOf('Hello'));
    for (const secret of ['VIH', 'Observation', aliceObs, alice]) expect(mail.text).not.toContain(secret);
    expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(2);
    expect((await outboxRows()).filter((r) => r.status === 'sent').length).toBeGreaterThanOrEqual(2);
  });

  it('English first for a patient who prefers English', async () => {
    await read(doctor, emmaObs);
    await worker().runOnce();
    expect(sink.messages[0].subject).toBe('Carnet : New activity on your health space / Nouvelle activité sur votre espace santé');
    expect(sink.messages[0].text.indexOf('Hello')).toBeLessThan(sink.messages[0].text.indexOf('Bonjour'));
  });

  it('a patient without an email address: the row is skipped, nothing sent', async () => {
    await read(doctor, bobObs);
    await worker().runOnce();
    expect(sink.messages).toHaveLength(0);
    const rows = (await outboxRows()).filter((r) => r.patient_id === bob);
    expect(rows[rows.length - 1]).toMatchObject({ status: 'skipped', last_error: 'the patient has no email address' });
  });

  it('a closed space: its pending rows are skipped, nothing more is mailed about it', async () => {
    await read(doctor, emmaObs);
    await h.server.carnet.db.raw('INSERT INTO closed_spaces (patient_id, closed_at) VALUES (?, now())', [emma]);
    try {
      await worker().runOnce();
      expect(sink.messages).toHaveLength(0);
      const rows = (await outboxRows()).filter((r) => r.patient_id === emma);
      expect(rows[rows.length - 1]).toMatchObject({ status: 'skipped', last_error: 'the space is closed' });
    } finally {
      await h.server.carnet.db.raw('DELETE FROM closed_spaces WHERE patient_id = ?', [emma]);
    }
  });

  it.each<[string, () => Caller, Record<string, string>, string, string]>([
    ['a refused attempt', () => blocked, {}, 'a tenté d\u2019accéder à votre espace santé (accès refusé)', 'Nouvelle activité'],
    ['a break-glass access (the reason stays out of the mail)', () => doctor, { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'coma diabétique' }, 'en « bris de glace »', 'Accès en urgence à votre espace santé'],
    ['a SAMU access', () => doctor, { 'x-purpose-of-use': 'ETREAT' }, 'régulation d\u2019urgence (SAMU)', 'Accès en urgence à votre espace santé'],
  ])('%s', async (_name, caller, headers, phrase, subject) => {
    await read(caller(), aliceObs, headers);
    await worker().runOnce();
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].text).toContain(phrase);
    expect(sink.messages[0].subject).toContain(subject);
    expect(sink.messages[0].text).not.toContain('diabétique');
  });
});

describe('delivery', () => {
  it('a server that refuses first, then accepts: retried with backoff, delivered once', async () => {
    sink.refuseNext(2);
    await read(doctor, aliceObs);
    const w = worker();
    expect(await w.runOnce()).toBe(1);
    let [row] = (await outboxRows()).slice(-1);
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.last_error).toContain('451');
    expect(await w.runOnce()).toBe(0); // backing off
    await sleep(150);
    expect(await w.runOnce()).toBe(1); // refused again, backs off 200 ms
    await sleep(300);
    expect(await w.runOnce()).toBe(1);
    [row] = (await outboxRows()).slice(-1);
    expect(row).toMatchObject({ status: 'sent', attempts: 3 });
    expect(sink.messages).toHaveLength(1);
  });

  it('an SMTP outage (connection refused), then the server comes back', async () => {
    const down = await startSink();
    const port = down.port;
    await down.close();
    await read(doctor, aliceObs);
    const w = worker({ settings: settings({ smtpUrl: `smtp://127.0.0.1:${port}` }) });
    await w.runOnce();
    expect((await outboxRows()).slice(-1)[0]).toMatchObject({ status: 'pending', attempts: 1 });
    const back = await startSink(port);
    await sleep(150);
    await w.runOnce();
    expect(back.messages).toHaveLength(1);
    expect((await outboxRows()).slice(-1)[0]).toMatchObject({ status: 'sent', attempts: 2 });
    await w.stop(); // its pooled SMTP connection would hold the sink's close
    await back.close();
  });

  it('a worker that dies after claiming: another sends once the lease lapses, and the dead one can no longer send', async () => {
    await read(doctor, aliceObs);
    await read(doctor, aliceObs);
    const crashed = new Outbox(h.server.carnet.sql, 300);
    const claim = await crashed.claim(10, false);
    expect(claim?.items).toHaveLength(2);
    const survivor = worker();
    expect(await survivor.runOnce()).toBe(0); // still leased to the dead worker
    await sleep(350);
    expect(await survivor.runOnce()).toBe(2);
    expect(sink.messages).toHaveLength(2);
    const ids = claim?.items.map((item) => item.id) ?? [];
    expect(await crashed.renew(claim?.token ?? '', ids)).toBe(false); // it cannot send after coming back
    await survivor.runOnce();
    expect(sink.messages).toHaveLength(2);
  });

  it('the in-process worker: woken by the audit trail as soon as an event is stored, stopped cleanly', async () => {
    const inProcess = h.server.carnet.audit.worker; // the server's own, on the sink (NOTIFY_WORKER off: started here)
    inProcess.start();
    await sleep(100); // its first pass found nothing: it now sleeps for its poll interval (1 s)
    const asked = Date.now();
    await read(doctor, aliceObs);
    for (let i = 0; i < 40 && sink.messages.length === 0; i++) await sleep(25);
    const delivered = Date.now() - asked;
    await inProcess.stop();
    expect(sink.messages).toHaveLength(1);
    expect(delivered).toBeLessThan(700); // woken, not polled
  });
});

describe('digests and emergencies', () => {
  it('non-emergency events of a patient within NOTIFY_DIGEST_MINUTES go out as one mail; an emergency goes at once', async () => {
    const digestMinutes = '0.02'; // 1.2 s
    const d = await startHarness(serverEnv({ NOTIFY_DIGEST_MINUTES: digestMinutes }));
    try {
      const patient = (await d.seed(patientResource('Alice', 'alice@example.org'))).id;
      const obs = (await d.seed(observationFor(patient))).id;
      const martin = await d.practitioner('martin', { name: DR_MARTIN });
      const other = await d.practitioner('p2');
      await d.authorize(patient, 'martin');
      await d.authorize(patient, 'p2');
      const get = (caller: Caller, headers: Record<string, string> = {}) => d.call(caller, 'GET', `Observation/${obs}`, { headers });
      expect((await get(martin)).status).toBe(200);
      expect((await get(other)).status).toBe(200);
      expect((await get(martin, { 'x-purpose-of-use': 'BTG', 'x-break-glass-reason': 'urgence' })).status).toBe(200);
      expect((await get(callers.representative('r1', patient))).status).toBe(200);
      const w = d.server.carnet.audit.worker; // the server's, with its NOTIFY_DIGEST_MINUTES
      expect(await w.runOnce()).toBe(1);
      expect(sink.messages).toHaveLength(1);
      expect(sink.messages[0].subject).toContain('Accès en urgence');
      await sleep(1300);
      expect(await w.runOnce()).toBe(3);
      expect(sink.messages).toHaveLength(2);
      const digest = sink.messages[1];
      expect(digest.subject).toBe('Carnet : 3 nouvelles activités sur votre espace santé / 3 new activities on your health space');
      expect(digest.text.match(/^- /gm)).toHaveLength(6); // 3 lines in each language
      expect(digest.text).toContain('votre représentant légal a consulté');
    } finally {
      await d.close();
    }
  });
});

describe('without SMTP_URL', () => {
  it('mails stay in the outbox; the log says so, without any content', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    await read(doctor, aliceObs);
    const w = worker({ settings: settings({ smtpUrl: undefined }), logger, pollMs: 20 });
    w.start();
    await sleep(200);
    await w.stop();
    expect(sink.messages).toHaveLength(0);
    expect((await outboxRows()).slice(-1)[0].status).toBe('pending');
    const log = lines.join('');
    expect(log).toContain('SMTP_URL is not set');
    expect(log).toContain('"pending":1');
    for (const secret of ['alice@example.org', alice, 'Martin', 'VIH']) expect(log).not.toContain(secret);
  });
});

describe('npm run worker, killed mid-send', () => {
  const script = path.resolve(__dirname, '../../scripts/worker.ts');
  const root = path.resolve(__dirname, '../..');
  const databaseUrl = () => (h.server.carnet.db.client.config as { connection: { connectionString: string } }).connection.connectionString;
  const startWorker = () =>
    spawn(process.execPath, ['--import', 'tsx', script, '--lease-seconds', '2', '--poll-ms', '100', '--concurrency', '1'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl(), SMTP_URL: sink.url, NOTIFY_FROM: 'Carnet <notifications@carnet.test>', LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });

  it('loses nothing and sends nothing twice', async () => {
    for (let i = 0; i < 3; i++) await read(doctor, aliceObs);
    const held = sink.holdNext();
    const first = startWorker();
    const firstExit = new Promise((resolve) => first.on('exit', resolve));
    await held; // the first mail's DATA reached the server, which never says 250
    first.kill('SIGKILL');
    await firstExit;
    expect(sink.abandoned).toBe(1);
    const second = startWorker();
    const secondExit = new Promise<number | null>((resolve) => second.on('exit', resolve));
    for (let i = 0; i < 100 && (await outboxRows()).some((r) => r.status === 'pending'); i++) await sleep(100);
    second.kill('SIGTERM');
    expect(await secondExit).toBe(0);
    expect(sink.messages).toHaveLength(3);
    expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(3);
    expect((await outboxRows()).filter((r) => r.status === 'pending')).toHaveLength(0);
  });
});
