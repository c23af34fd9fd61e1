/**
 * Raw Binaries and ITI-68 Retrieve Document (CONTRACT §9), over HTTP on the
 * scenario's cast (test/access/scenario.ts), with MAX_BINARY at 2 MB:
 * - a PDF POSTed raw (its own Content-Type, `X-Security-Context`) is streamed
 *   into the content store and read back raw byte for byte; the JSON view has
 *   it as base64 `data` and no pointer; a PUT raw makes a new version whose
 *   predecessor still reads its own bytes;
 * - ranges: one range → 206 with Content-Range, a range past the end → 416
 *   with `bytes` star-slash-size, several ranges → 200 with the whole content
 *   (no multipart), If-Range, HEAD;
 * - over MAX_BINARY → 413 (declared up front or streamed), nothing stored;
 * - access follows the DocumentReference: a médecin reads the bytes, a
 *   pharmacist (psychiatry is outside the grid) gets exactly the answer of a
 *   Binary that does not exist;
 * - the read is audited as a read of the document;
 * - a document's attachment size/hash is checked against the stored bytes (422);
 * - a JSON Binary naming another Binary's content is refused;
 * - the export carries the bytes; erasure deletes them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type supertest from 'supertest';
import type { Resource } from 'fhir/r4';
import { documentReference } from '../access/builders';
import { scenarioWrites } from '../access/scenario';
import { FHIR_JSON, startTestServer, type TestServer } from '../support/server';
import { erasePatient } from '../../src/accounts/erasure';

/** A well-formed PDF of about `size` bytes: a page and an embedded file stream of random bytes, with an exact xref. */
function pdf(size: number): Buffer {
  const payload = randomBytes(size);
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  const offsets: number[] = [];
  let length = parts[0].length;
  const add = (text: string | Buffer) => {
    const piece = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    parts.push(piece);
    length += piece.length;
  };
  const object = (n: number, body: string, stream?: Buffer) => {
    offsets[n] = length;
    add(`${n} 0 obj\n${body}\n`);
    if (stream) {
      add('stream\n');
      add(stream);
      add('\nendstream\n');
    }
    add('endobj\n');
  };
  object(1, '<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(data.bin) 5 0 R] >> >> >>');
  object(2, '<< /Type /Pages /Kids [3 0 R] /Count 1 >>');
  object(3, '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>');
  object(4, `<< /Type /EmbeddedFile /Length ${payload.length} >>`, payload);
  object(5, '<< /Type /Filespec /F (data.bin) /EF << /F 4 0 R >> >>');
  const xref = length;
  add(`xref\n0 6\n0000000000 65535 f \n${offsets.slice(1).map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('')}`);
  add(`trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('base64');

/** supertest answers raw bytes as a Buffer whatever the content type. */
const binaryParser = (res: supertest.Response, done: (error: Error | null, body: Buffer) => void) => {
  const pieces: Buffer[] = [];
  const stream = res as unknown as http.IncomingMessage;
  stream.on('data', (piece: Buffer) => pieces.push(piece));
  stream.on('end', () => done(null, Buffer.concat(pieces)));
};

describe('raw Binaries and ITI-68', () => {
  let server: TestServer;
  const tokens = new Map<string, string>();
  const document = pdf(1_300_000); // three chunks of the content store
  const replacement = pdf(40_000);
  let binaryId: string;
  let documentId: string;

  async function tokenOf(name: string): Promise<string> {
    if (!tokens.has(name)) {
      if (['lab', 'imaging'].includes(name)) tokens.set(name, await server.systemToken(name, 'system/*.*'));
      else if (['px', 'py'].includes(name)) tokens.set(name, await server.patientToken(name));
      else tokens.set(name, await server.practitionerToken(name));
    }
    return tokens.get(name) as string;
  }
  /** The request as `who` (tokens are minted in beforeAll: a supertest request must not be awaited before it is complete). */
  const as = (who: string, req: supertest.Test) => req.set('Authorization', `Bearer ${tokens.get(who)}`);
  const upload = async (who: string, bytes: Buffer, context?: string, contentType = 'application/pdf') => {
    const req = as(who, server.request.post('/fhir/Binary').set('Content-Type', contentType));
    if (context) req.set('X-Security-Context', context);
    return req.send(bytes);
  };
  const raw = async (who: string, url: string, headers: Record<string, string> = {}) => {
    const req = as(who, server.request.get(url).set('Accept', 'application/pdf').buffer(true).parse(binaryParser));
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    return req;
  };
  const postJson = async (who: string, type: string, resource: Resource) =>
    as(who, server.request.post(`/fhir/${type}`).set('Content-Type', FHIR_JSON).send(JSON.stringify(resource)));
  const contentRows = async () => Number((await server.carnet.sql.query<{ n: string }>('SELECT count(*) AS n FROM binary_content')).rows[0].n);
  const linkingDocument = (binary: string, attachment: Record<string, unknown> = {}): Resource => {
    const { id: _id, ...doc } = documentReference('ignored', 'px', { type: '68599-0' }); // psychiatry: médecins, not pharmacists
    doc.content = [{ attachment: { contentType: 'application/pdf', url: `Binary/${binary}`, ...attachment } }];
    return doc as Resource;
  };

  beforeAll(async () => {
    server = await startTestServer({ MAX_BINARY: '2mb' });
    for (const name of ['lab', 'imaging', 'px', 'py', 'gp', 'pharma']) await tokenOf(name);
    for (const [resource, by] of scenarioWrites()) await server.put(resource, by);
    const created = await upload('lab', document, 'Patient/px');
    expect(created.status).toBe(201);
    binaryId = created.body.id;
    const linked = await postJson('lab', 'DocumentReference', linkingDocument(binaryId, { size: document.length, hash: sha1(document) }));
    expect(linked.status).toBe(201);
    documentId = linked.body.id;
  });
  afterAll(() => server.close());

  it('stores a raw upload and answers it raw, byte for byte, with its headers', async () => {
    const res = await raw('gp', `/fhir/Binary/${binaryId}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(Number(res.headers['content-length'])).toBe(document.length);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers.etag).toBe(`"${createHash('sha256').update(document).digest('hex')}"`);
    expect(res.headers['last-modified']).toBeDefined();
    expect(Buffer.compare(res.body as Buffer, document)).toBe(0);
    expect((res.body as Buffer).subarray(0, 8).toString('latin1')).toBe('%PDF-1.7');
  });

  it.each([
    ['Accept: application/fhir+json', { Accept: 'application/fhir+json' }, ''],
    ['_format=json', { Accept: '*/*' }, '?_format=json'],
    ['no Accept at all', {}, ''],
  ])('answers the Binary resource as JSON with base64 data for %s', async (_case, headers, query) => {
    const req = as('gp', server.request.get(`/fhir/Binary/${binaryId}${query}`));
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    const res = await req;
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body).toMatchObject({ resourceType: 'Binary', id: binaryId, contentType: 'application/pdf', securityContext: { reference: 'Patient/px' } });
    expect(res.body._data).toBeUndefined(); // the pointer never leaves the server
    expect(Buffer.compare(Buffer.from(res.body.data, 'base64'), document)).toBe(0);
  });

  it.each([
    ['*/*', 200],
    ['application/pdf', 200],
    ['application/*', 200],
    ['text/html,application/xhtml+xml,*/*;q=0.8', 200], // a browser
    ['image/png', 406],
  ])('with Accept %s answers %s', async (accept, status) => {
    const res = await as('gp', server.request.get(`/fhir/Binary/${binaryId}`).set('Accept', accept).buffer(true).parse(binaryParser));
    expect(res.status).toBe(status);
  });

  const size = () => document.length;
  /** [case, Range, other headers, status, first byte, last byte (inclusive)] */
  const RANGES: Array<[string, (n: number) => string, Record<string, string>, number, (n: number) => number, (n: number) => number]> = [
    ['the first bytes', () => 'bytes=0-99', {}, 206, () => 0, () => 99],
    ['a middle across two chunks', () => 'bytes=524000-525000', {}, 206, () => 524000, () => 525000],
    ['a suffix', () => 'bytes=-500', {}, 206, (n) => n - 500, (n) => n - 1],
    ['an open end', () => 'bytes=1000000-', {}, 206, () => 1000000, (n) => n - 1],
    ['an end past the size (cut to it)', () => 'bytes=10-99999999', {}, 206, () => 10, (n) => n - 1],
    ['several ranges (the whole content, no multipart)', () => 'bytes=0-9,20-29', {}, 200, () => 0, (n) => n - 1],
    ['a range with a matching If-Range', () => 'bytes=0-9', { 'If-Range': 'ETAG' }, 206, () => 0, () => 9],
    ['a range with a stale If-Range (the whole content)', () => 'bytes=0-9', { 'If-Range': '"stale"' }, 200, () => 0, (n) => n - 1],
    ['another unit (the whole content)', () => 'items=0-9', {}, 200, () => 0, (n) => n - 1],
  ];

  it.each(RANGES)('Range: %s', async (_case, range, headers, status, first, last) => {
    const etag = (await raw('gp', `/fhir/Binary/${binaryId}`)).headers.etag;
    const extra = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value === 'ETAG' ? etag : value]));
    const res = await raw('gp', `/fhir/Binary/${binaryId}`, { Range: range(size()), ...extra });
    expect(res.status).toBe(status);
    const [from, to] = [first(size()), last(size())];
    expect(Buffer.compare(res.body as Buffer, document.subarray(from, to + 1))).toBe(0);
    expect(Number(res.headers['content-length'])).toBe(to - from + 1);
    if (status === 206) expect(res.headers['content-range']).toBe(`bytes ${from}-${to}/${size()}`);
    else expect(res.headers['content-range']).toBeUndefined();
  });

  it.each([
    ['starting at the size', (n: number) => `bytes=${n}-`],
    ['starting past it', (n: number) => `bytes=${n + 10}-${n + 20}`],
    ['of zero bytes from the end', () => 'bytes=-0'],
  ])('a range %s is 416 with Content-Range: bytes */size', async (_case, range) => {
    const res = await as('gp', server.request.get(`/fhir/Binary/${binaryId}`).set('Accept', '*/*').set('Range', range(size())));
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${size()}`);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  it('answers HEAD with the headers only', async () => {
    const res = await as('gp', server.request.head(`/fhir/Binary/${binaryId}`).set('Accept', '*/*'));
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(document.length);
    expect(res.headers['content-type']).toBe('application/pdf');
    expect(res.text ?? '').toBe('');
  });

  it('answers 304 to If-None-Match with the raw ETag', async () => {
    const etag = (await raw('gp', `/fhir/Binary/${binaryId}`)).headers.etag;
    expect((await raw('gp', `/fhir/Binary/${binaryId}`, { 'If-None-Match': etag })).status).toBe(304);
  });

  /** What a caller is answered, the id asked for left out. */
  const answer = (res: supertest.Response, id: string) => ({ status: res.status, body: JSON.stringify(res.body).split(id).join('ID') });

  it.each([
    ['raw', { Accept: 'application/pdf' }],
    ['as JSON', { Accept: 'application/fhir+json' }],
  ])('follows the document (%s): a pharmacist outside the grid gets exactly the answer of a Binary that does not exist', async (_case, headers) => {
    const read = async (id: string, who = 'pharma') => {
      const req = as(who, server.request.get(`/fhir/Binary/${id}`));
      for (const [name, value] of Object.entries(headers)) req.set(name, value);
      return req;
    };
    const hidden = await read(binaryId);
    const missing = await read('no-such-binary');
    expect(hidden.status).toBe(404);
    expect(answer(hidden, binaryId)).toEqual(answer(missing, 'no-such-binary'));
    expect((await read(binaryId, 'gp')).status).toBe(200); // a médecin the patient authorized
  });

  it('audits an ITI-68 read as a read of the document', async () => {
    const before = Number((await server.carnet.sql.query<{ n: string }>(`SELECT coalesce(max(seq), 0) AS n FROM audit_events WHERE patient_id = 'px'`)).rows[0].n);
    expect((await raw('gp', `/fhir/Binary/${binaryId}`)).status).toBe(200);
    const { rows } = await server.carnet.sql.query<{ subtype: string; action: string; content: { entity: { what: { reference: string } }[] } }>(
      `SELECT subtype, action, content FROM audit_events WHERE patient_id = 'px' AND seq > ? ORDER BY seq`,
      [before],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ subtype: 'read', action: 'R' });
    const named = rows[0].content.entity.map((entity) => entity.what.reference);
    expect(named).toEqual(expect.arrayContaining(['Patient/px', `DocumentReference/${documentId}/_history/1`]));
  });

  it.each([
    ['a wrong size', { size: 12 }, 'DocumentReference.content[0].attachment.size'],
    ['a wrong hash', { hash: sha1(Buffer.from('other bytes')) }, 'DocumentReference.content[0].attachment.hash'],
    ['the right size and a wrong hash', { size: document.length, hash: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }, 'DocumentReference.content[0].attachment.hash'],
  ])('refuses a document whose attachment states %s (422)', async (_case, attachment, expression) => {
    const res = await postJson('lab', 'DocumentReference', linkingDocument(binaryId, attachment));
    expect(res.status).toBe(422);
    expect(res.body.issue[0].expression[0]).toContain(expression);
  });

  it('checks size and hash against a Binary created in the same transaction', async () => {
    const bytes = pdf(2_000);
    const bundle = (hash: string) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:6f1b0e2a-0000-4000-8000-000000000001', resource: { resourceType: 'Binary', contentType: 'application/pdf', securityContext: { reference: 'Patient/px' }, data: bytes.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
        { resource: { ...linkingDocument('x', { size: bytes.length, hash }), content: [{ attachment: { contentType: 'application/pdf', url: 'urn:uuid:6f1b0e2a-0000-4000-8000-000000000001', size: bytes.length, hash } }] }, request: { method: 'POST', url: 'DocumentReference' } },
      ],
    });
    const wrong = await postJson('lab', '', bundle(sha1(Buffer.from('x'))) as unknown as Resource);
    expect(wrong.status).toBe(422);
    expect(JSON.stringify(wrong.body)).toContain('attachment.hash');
    expect((await postJson('lab', '', bundle(sha1(bytes)) as unknown as Resource)).status).toBe(200);
  });

  it('refuses a JSON Binary naming the content of another Binary', async () => {
    const { rows } = await server.carnet.sql.query<{ pointer: string }>(`SELECT content #>> '{_data,extension,0,valueString}' AS pointer FROM resources WHERE resource_type = 'Binary' AND id = ?`, [binaryId]);
    const forged = { resourceType: 'Binary', contentType: 'application/pdf', _data: { extension: [{ url: 'https://carnet.example.org/fhir/StructureDefinition/binary-content', valueString: rows[0].pointer }] } };
    const res = await postJson('lab', 'Binary', forged as unknown as Resource);
    expect(res.status).toBe(422);
  });

  it('a raw PUT makes a new version; the first still reads its own bytes', async () => {
    const first = await upload('lab', replacement, 'Patient/px');
    const id = first.body.id as string;
    const next = pdf(30_000);
    const put = await as('lab', server.request.put(`/fhir/Binary/${id}`).set('Content-Type', 'application/pdf').set('X-Security-Context', 'Patient/px').send(next));
    expect(put.status).toBe(200);
    expect(put.body.meta.versionId).toBe('2');
    expect(Buffer.compare((await raw('lab', `/fhir/Binary/${id}`)).body as Buffer, next)).toBe(0);
    expect(Buffer.compare((await raw('lab', `/fhir/Binary/${id}/_history/1`)).body as Buffer, replacement)).toBe(0);
  });

  it('accepts text/plain and image/jpeg raw, answered in their own type', async () => {
    for (const [type, bytes] of [['text/plain', Buffer.from('compte rendu\n')], ['image/jpeg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), randomBytes(1000)])]] as const) {
      const created = await upload('lab', bytes, 'Patient/px', type);
      expect(created.status).toBe(201);
      const res = await as('lab', server.request.get(`/fhir/Binary/${created.body.id}`).set('Accept', '*/*').buffer(true).parse(binaryParser));
      expect(res.headers['content-type']).toBe(type);
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    }
  });

  it('refuses an upload over MAX_BINARY declared by its Content-Length (413), storing nothing', async () => {
    const before = await contentRows();
    const res = await upload('lab', Buffer.alloc(3 * 1024 * 1024, 1), 'Patient/px');
    expect(res.status).toBe(413);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await contentRows()).toBe(before);
  });

  it('refuses a streamed upload (no Content-Length) as soon as it passes MAX_BINARY (413), storing nothing', async () => {
    const before = await contentRows();
    const listener = server.carnet.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    const token = tokens.get('lab');
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          { port: (listener.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/fhir/Binary', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/pdf', 'transfer-encoding': 'chunked' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        let sent = 0;
        const push = () => {
          while (sent < 4 * 1024 * 1024) {
            sent += 64 * 1024;
            if (!req.write(Buffer.alloc(64 * 1024, 2))) return void req.once('drain', push);
          }
          req.end();
        };
        push();
      });
      expect(status).toBe(413);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
    expect(await contentRows()).toBe(before);
  });

  it.each([
    ['without a token', (req: supertest.Test) => req, 401],
    ['with Content-Encoding gzip', (req: supertest.Test) => as('lab', req).set('Content-Encoding', 'gzip'), 415],
  ])('refuses a raw upload %s before storing anything', async (_case, prepare, status) => {
    const before = await contentRows();
    const res = await prepare(server.request.post('/fhir/Binary').set('Content-Type', 'application/pdf')).send(pdf(1000));
    expect(res.status).toBe(status);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await contentRows()).toBe(before);
  });

  it('drops the content of an upload whose write is refused', async () => {
    const before = await contentRows();
    const res = await upload('imaging', pdf(600_000), 'DocumentReference/no-such-document');
    expect(res.status).toBe(422);
    expect(await contentRows()).toBe(before);
  });

  it("carries the bytes in the patient's export", async () => {
    const res = await as('px', server.request.get('/account/export'));
    expect(res.status).toBe(200);
    const bundle = typeof res.body === 'object' && res.body.resourceType ? res.body : JSON.parse(res.text);
    const entry = bundle.entry.find((e: { resource: Resource }) => e.resource.resourceType === 'Binary' && e.resource.id === binaryId);
    expect(Buffer.compare(Buffer.from(entry.resource.data, 'base64'), document)).toBe(0);
  });

  it('erases the bytes with the patient', async () => {
    const own = await upload('lab', pdf(700_000), 'Patient/py');
    expect(own.status).toBe(201);
    const stored = async () =>
      Number(
        (
          await server.carnet.sql.query<{ n: string }>(
            `SELECT count(*) AS n FROM binary_content c JOIN binary_contents b USING (content_id) JOIN resources r ON r.rid = b.binary_rid WHERE r.id = ?`,
            [own.body.id],
          )
        ).rows[0].n,
      );
    expect(await stored()).toBe(2);
    const report = await server.carnet.sql.transaction((trx) => erasePatient(trx, 'py', { baseUrl: 'http://carnet.test/fhir' }));
    expect(report.binary_content).toBe(2);
    expect(report.binary_contents).toBe(1);
    expect(Number((await server.carnet.sql.query<{ n: string }>(`SELECT count(*) AS n FROM binary_contents b WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.rid = b.binary_rid)`)).rows[0].n)).toBe(0);
  });
});
