/**
 * CONTRACT §7, the account-message outbox: a message queued in a transaction goes out only if
 * that transaction commits, once, through the transport of its channel, in French unless English
 * is asked; its sealed params (the code) are wiped once sent or failed for good; a failing
 * transport is retried, then the message fails; two workers never send one message twice; and
 * without a real transport the message is a 0600 file of the development outbox holding the
 * code, while the log names only the channel and the template.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { MessageChannel, MessageTemplate, OutgoingMessage } from '../../src/accounts/messages';
import { defaultTransports, openAccountOutbox } from '../../src/notify/account-messages';
import type { AccountOutbox } from '../../src/notify/account-outbox';
import { renderAccountMessage } from '../../src/notify/account-templates';
import { AccountMessageWorker, type AccountWorkerOptions } from '../../src/notify/account-worker';
import { DevOutbox } from '../../src/notify/dev-outbox';
import { LoopbackSms, smsMessageTransport } from '../../src/notify/sms';
import { LoopbackTransport, type Delivery, type MessageTransport } from '../../src/notify/transports';
import { startTestServer, type TestServer } from '../support/server';
import { deliveredMessages, nextMessage } from '../support/messages';
import { startSink } from '../audit/smtp-sink';

let server: TestServer;
const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface MessageRow {
  id: string;
  channel: string;
  recipient: string;
  template: string;
  status: string;
  attempts: number;
  params: string | null;
  sent_at: Date | null;
  last_error: string | null;
}

async function rowsTo(to: string): Promise<MessageRow[]> {
  const result = await server.carnet.db.raw<{ rows: MessageRow[] }>('SELECT * FROM account_messages WHERE recipient = ? ORDER BY id', [to]);
  return result.rows;
}

/** Queues in a transaction of its own, committed. */
const queue = (message: OutgoingMessage) => server.carnet.sql.transaction((trx) => server.carnet.accountMessages.queue(trx, message));

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

let unique = 0;
const address = (name: string) => `${name}-${++unique}@example.org`;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

describe('through the server (its worker, the test loopback)', () => {
  it('sends a message queued in a committed transaction once, with its code', async () => {
    const to = address('alice');
    await queue({ channel: 'email', to, template: 'login-code', params: { code: '482915' } });
    const message = await nextMessage(server, { to }, 3_000);
    expect(message).toMatchObject({ channel: 'email', template: 'login-code', lang: 'fr', params: { code: '482915' } });
    expect(message.text).toContain('482915');
    await expect(nextMessage(server, { to }, 300)).rejects.toThrow(/no account message/);
    expect(deliveredMessages(server).filter((m) => m.to === to)).toHaveLength(1);
  });

  it('sends nothing for a transaction that rolled back', async () => {
    const to = address('rolled-back');
    await expect(
      server.carnet.sql.transaction(async (trx) => {
        await server.carnet.accountMessages.queue(trx, { channel: 'email', to, template: 'login-code', params: { code: '111111' } });
        throw new Error('the login failed after queueing');
      }),
    ).rejects.toThrow('the login failed');
    const marker = address('marker');
    await queue({ channel: 'email', to: marker, template: 'login-code', params: { code: '222222' } });
    await nextMessage(server, { to: marker }); // the worker ran after the rollback
    expect(deliveredMessages(server).filter((m) => m.to === to)).toEqual([]);
    expect(await rowsTo(to)).toEqual([]);
  });

  it.each<[MessageChannel, string, MessageTemplate]>([
    ['letter', 'Patient/p-letter', 'enrolment-code'],
    ['email', 'bob@example.org', 'reset-code'],
    ['sms', '+33612345678', 'login-code'],
  ])('a %s goes out on its own channel', async (channel, to, template) => {
    await queue({ channel, to, template, params: { code: 'K7P2-9QXA-4MZE', expires: '2027-01-12T09:15:00Z' } });
    const message = await nextMessage(server, { to, template });
    expect(message.channel).toBe(channel);
    expect(message.text).toContain('K7P2-9QXA-4MZE');
  });

  it.each([
    [undefined, 'Votre code de connexion', 'Carnet : Votre code de connexion'],
    ['fr' as const, 'Votre code de connexion', 'Carnet : Votre code de connexion'],
    ['en' as const, 'Your code to log in', 'Carnet: Your login code'],
  ])('speaks %s: the text says "%s"', async (lang, words, subject) => {
    const to = address(`lang-${lang}`);
    await queue({ channel: 'email', to, template: 'login-code', params: { code: '730461' }, lang });
    const message = await nextMessage(server, { to });
    expect(message.text).toContain(words);
    expect(message.subject).toBe(subject);
  });

  it('keeps the params sealed while pending and wipes them once sent', async () => {
    const to = address('sealed');
    const pending = await server.carnet.sql.transaction(async (trx) => {
      await server.carnet.accountMessages.queue(trx, { channel: 'sms', to, template: 'login-code', params: { code: '905118' } });
      return (await trx.query<MessageRow>('SELECT * FROM account_messages WHERE recipient = ?', [to])).rows[0];
    });
    expect(pending.status).toBe('pending');
    expect(pending.params).not.toBeNull();
    expect(pending.params).not.toContain('905118');
    expect(Buffer.from(pending.params as string, 'base64url').toString('latin1')).not.toContain('905118');
    await nextMessage(server, { to });
    const [row] = await until(async () => ((await rowsTo(to))[0]?.status === 'sent' ? rowsTo(to) : undefined));
    expect(row).toMatchObject({ status: 'sent', params: null, attempts: 1 });
    expect(row.sent_at).toBeInstanceOf(Date);
  });
});

describe('the worker', () => {
  let outbox: AccountOutbox;
  const workers: AccountMessageWorker[] = [];
  const worker = (over: Partial<AccountWorkerOptions> & Pick<AccountWorkerOptions, 'transports'>) => {
    const w = new AccountMessageWorker({ db: server.carnet.sql, outbox, logger: silent, pollMs: 20, retry: { retryBaseMs: 20 }, ...over });
    workers.push(w);
    return w;
  };
  const every = (transport: MessageTransport) => ({ email: transport, sms: transport, letter: transport });

  beforeAll(async () => {
    await server.carnet.accountMessages.worker.stop(); // these tests run the workers they need
    outbox = await openAccountOutbox(server.carnet.sql, 300);
  });
  beforeEach(async () => {
    await server.carnet.db.raw(`UPDATE account_messages SET status = 'failed', params = NULL WHERE status = 'pending'`);
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
  });
  afterAll(async () => {
    await server.carnet.accountMessages.worker.start();
  });

  it('retries a failing transport with backoff, then fails the message and wipes its params', async () => {
    const to = address('unreachable');
    let calls = 0;
    const failing: MessageTransport = {
      outcome: 'sent',
      send: async () => {
        calls++;
        throw Object.assign(new Error('provider down'), { code: 'EPROVIDER' });
      },
    };
    await queue({ channel: 'email', to, template: 'login-code', params: { code: '640052' } });
    worker({ transports: every(failing), retry: { retryBaseMs: 20, maxAttempts: 3 } }).start();
    const [row] = await until(async () => ((await rowsTo(to))[0]?.status === 'failed' ? rowsTo(to) : undefined));
    expect(row).toMatchObject({ status: 'failed', attempts: 3, params: null, last_error: 'EPROVIDER', sent_at: null });
    expect(calls).toBe(3);
  });

  it('sends once a transport that failed recovers', async () => {
    const to = address('flaky');
    const loopback = new LoopbackTransport();
    let failures = 1;
    const flaky: MessageTransport = {
      outcome: 'sent',
      send: async (delivery) => {
        if (failures-- > 0) throw Object.assign(new Error('busy'), { code: 'EBUSY' });
        await loopback.send(delivery);
      },
    };
    await queue({ channel: 'email', to, template: 'password-changed', params: {} });
    worker({ transports: every(flaky) }).start();
    await loopback.next({ to });
    const [row] = await until(async () => ((await rowsTo(to))[0]?.status === 'sent' ? rowsTo(to) : undefined));
    expect(row).toMatchObject({ status: 'sent', attempts: 2, params: null });
    expect(loopback.delivered).toHaveLength(1);
  });

  it('sends email over SMTP_URL and writes letters and SMS (no provider) to the development outbox', async () => {
    const sink = await startSink();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-outbox-'));
    const transports = defaultTransports({ settings: { smtpUrl: sink.url, from: 'Carnet <comptes@carnet.test>' }, devOutboxDir: dir });
    try {
      const to = address('smtp');
      await queue({ channel: 'email', to, template: 'reset-code', params: { code: '271828' }, lang: 'en' });
      await queue({ channel: 'letter', to: 'Patient/p-smtp', template: 'opening-notice', params: {} });
      await queue({ channel: 'sms', to: '+33611223344', template: 'login-code', params: { code: '314159' } });
      await worker({ transports }).runOnce();
      expect(sink.messages).toEqual([expect.objectContaining({ to: [to], subject: 'Carnet: Resetting your password', text: expect.stringContaining('271828') })]);
      expect(sink.messages[0].messageId).toMatch(/^<account-message-\d+@carnet\.test>$/);
      expect(fs.readdirSync(dir).map((name) => name.replace(/^\S+?-\d+-/, '')).sort()).toEqual(['letter-opening-notice.txt', 'sms-login-code.txt']);
    } finally {
      for (const transport of new Set(Object.values(transports))) transport.close?.();
      await sink.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('wakes as soon as the queueing transaction commits, not at its next poll', async () => {
    const { connectionString } = (server.carnet.db.client as { config: { connection: { connectionString: string } } }).config.connection;
    const loopback = new LoopbackTransport();
    const w = worker({ transports: every(loopback), pollMs: 60_000, databaseUrl: connectionString });
    await w.start(); // its first pass finds nothing: it now sleeps a minute unless woken
    await sleep(100);
    const to = address('woken');
    await queue({ channel: 'sms', to, template: 'login-code', params: { code: '660011' } });
    expect((await loopback.next({ to }, 5_000)).params.code).toBe('660011'); // well before the minute's poll
  });

  it('sends SMS through an SmsTransport', async () => {
    const to = '+33698765432';
    const sms = new LoopbackSms();
    await queue({ channel: 'sms', to, template: 'contact-code', params: { code: '318204' } });
    await worker({ transports: { ...every(new LoopbackTransport()), sms: smsMessageTransport(sms) } }).runOnce();
    expect(sms.sent).toEqual([{ to, text: expect.stringContaining('318204'), reference: expect.stringMatching(/^account-message-\d+$/) }]);
  });

  it('two workers racing over 40 messages send each exactly once', async () => {
    const recipients = Array.from({ length: 40 }, (_, i) => `race-${i}-${++unique}@example.org`);
    await server.carnet.sql.transaction(async (trx) => {
      for (const to of recipients) await server.carnet.accountMessages.queue(trx, { channel: 'email', to, template: 'login-code', params: { code: '100200' } });
    });
    const seen: Delivery[] = [];
    const slow: MessageTransport = {
      outcome: 'sent',
      send: async (delivery) => {
        await sleep(5);
        seen.push(delivery);
      },
    };
    const a = worker({ transports: every(slow), batchSize: 7 });
    const b = worker({ transports: every(slow), batchSize: 7 });
    await Promise.all([a.start(), b.start()]);
    await until(async () => (seen.length >= 40 ? true : undefined));
    await sleep(200);
    expect(seen.map((d) => d.to).sort()).toEqual([...recipients].sort());
    expect(new Set(seen.map((d) => d.id)).size).toBe(40);
  });

  it('a message claimed by a worker that died goes out once, by another, after the lease', async () => {
    const to = address('orphan');
    await queue({ channel: 'email', to, template: 'login-code', params: { code: '555000' } });
    const dead = await outbox.claim(server.carnet.sql, 10); // claimed, never sent nor settled (lease 300 ms)
    expect(dead?.messages.map((m) => m.to)).toEqual([to]);
    const loopback = new LoopbackTransport();
    const survivor = worker({ transports: every(loopback) });
    expect(await survivor.runOnce()).toBe(0); // still held
    await sleep(400);
    expect(await survivor.runOnce()).toBe(1);
    expect(loopback.delivered.map((d) => d.params.code)).toEqual(['555000']);
    expect(await outbox.renew(server.carnet.sql, dead!.token, dead!.messages[0].id)).toBe(false); // the dead claim can no longer send
  });

  it('writes to the development outbox a 0600 file with the code, and logs neither the code nor the recipient', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carnet-outbox-'));
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) }));
    try {
      const to = address('developer');
      await queue({ channel: 'email', to, template: 'login-code', params: { code: '827364', expires: '2027-03-01T10:20:00Z' } });
      await queue({ channel: 'letter', to: 'Patient/p-dev', template: 'enrolment-code', params: { code: 'ZX81-QL43-HB7M', expires: '2027-03-01T10:20:00Z' } });
      await worker({ transports: every(new DevOutbox(dir)), logger }).runOnce();
      const files = fs.readdirSync(dir);
      const emailFile = files.find((name) => /^\d{8}T\d{9}Z-\d+-email-login-code\.txt$/.test(name)) as string;
      const letterFile = files.find((name) => /^\d{8}T\d{9}Z-\d+-letter-enrolment-code\.txt$/.test(name)) as string;
      expect(files).toEqual(expect.arrayContaining([emailFile, letterFile]));
      expect(files).toHaveLength(2);
      const email = fs.readFileSync(path.join(dir, emailFile), 'utf8');
      expect(email).toContain(`To: ${to}`);
      expect(email).toContain('Template: login-code');
      expect(email).toContain('827364');
      expect(email).toContain('1 mars 2027 à 11:20'); // Paris time
      expect(fs.statSync(path.join(dir, emailFile)).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(dir, letterFile), 'utf8')).toContain('ZX81-QL43-HB7M');
      const log = lines.join('');
      const written = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'account message written');
      expect(written.map(({ channel, template }) => `${channel} ${template}`).sort()).toEqual(['email login-code', 'letter enrolment-code']);
      for (const secret of ['827364', 'ZX81-QL43-HB7M', to, 'Patient/p-dev']) expect(log).not.toContain(secret);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the texts', () => {
  const CODES: MessageTemplate[] = ['enrolment-code', 'login-code', 'reset-code', 'contact-code'];
  const NOTICES: MessageTemplate[] = ['contact-changed', 'password-changed', 'opening-notice', 'space-closed'];
  const cases = (['fr', 'en'] as const).flatMap((lang) => (['email', 'sms', 'letter'] as const).map((channel) => [lang, channel] as const));

  it.each(cases)('every code template in %s by %s says the code and its expiry', (lang, channel) => {
    for (const template of CODES) {
      const { text, subject } = renderAccountMessage({ channel, template, lang, params: { code: 'Q9W8-E7R6', expires: '2027-06-30T22:00:00Z' } });
      expect(text).toContain('Q9W8-E7R6');
      expect(text).toContain(lang === 'fr' ? '1 juillet 2027 à 00:00' : '1 July 2027 at 00:00');
      expect(`${subject}${text}`).not.toMatch(/undefined|\$\{/);
    }
  });

  it.each(cases)('every notice in %s by %s renders without params', (lang, channel) => {
    for (const template of NOTICES) {
      const { text, subject } = renderAccountMessage({ channel, template, lang, params: {} });
      expect(text.length).toBeGreaterThan(20);
      expect(`${subject}${text}`).not.toMatch(/undefined|\$\{/);
      if (channel === 'sms') expect(text.length).toBeLessThanOrEqual(160);
    }
  });

  it('refuses to render a code template without its code (the message then fails, never says "undefined")', () => {
    expect(() => renderAccountMessage({ channel: 'email', template: 'login-code', lang: 'fr', params: {} })).toThrow(/needs code/);
  });
});
