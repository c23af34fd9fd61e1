/**
 * The token endpoint of SMART backend services (CONTRACT §8) over HTTP, with real assertions
 * signed by the clients' own RS384 and ES384 keys: what a laboratory gets (a token that works
 * on /fhir, naming its Organization as author), and every way an assertion is refused, in the
 * OAuth shape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { createLocalJWKSet, jwtVerify, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { BASE, send, startTestServer, type TestServer } from '../support/server';
import { assertion, clientKey, clientsFile, JWT_BEARER, postToken, tokenForm, TOKEN_URL, type ClientKey } from '../support/backend-client';
import { grantedScope } from '../../src/identity/client-credentials';

const LAB_SCOPE = 'system/DocumentReference.write system/Binary.write system/Patient.read';

describe('POST /auth/token (client_credentials, private_key_jwt)', () => {
  let server: TestServer;
  let registry: ReturnType<typeof clientsFile>;
  let rsa: ClientKey;
  let ec: ClientKey;
  let stranger: ClientKey;
  let remoteA: ClientKey;
  let remoteB: ClientKey;
  let served: JWK[];
  let fetches = 0;
  let jwksHost: http.Server;
  let patient: string;
  const registrations: unknown[] = [];

  beforeAll(async () => {
    [rsa, ec, remoteA, remoteB] = await Promise.all([clientKey('RS384'), clientKey('ES384'), clientKey('ES384'), clientKey('RS384')]);
    stranger = { ...(await clientKey('ES384')), kid: ec.kid }; // another key under the registered kid
    served = [remoteA.publicJwk];
    jwksHost = http.createServer((_req, res) => {
      fetches += 1;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => jwksHost.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(jwksHost.address() as AddressInfo).port}/jwks.json`;
    registrations.push(
      { client_id: 'lab-rs', jwks: { keys: [rsa.publicJwk] }, scope: LAB_SCOPE, organization: 'Organization/lab-org' },
      { client_id: 'lab-es', jwks: { keys: [ec.publicJwk] }, scope: LAB_SCOPE, organization: 'Organization/lab-org' },
      { client_id: 'lab-remote', jwks_uri: jwksUri, scope: 'system/Patient.read' },
    );
    registry = clientsFile(registrations);
    server = await startTestServer({ CLIENTS_FILE: registry.file });
    await server.put({ resourceType: 'Organization', id: 'lab-org', name: 'Laboratoire' } as never);
    await server.put({ resourceType: 'Organization', id: 'other-org', name: 'Autre' } as never);
    await server.put({ resourceType: 'Practitioner', id: 'biologist', name: [{ family: 'Biologiste' }] } as never);
    await server.put({ resourceType: 'PractitionerRole', id: 'biologist-lab', practitioner: { reference: 'Practitioner/biologist' }, organization: { reference: 'Organization/lab-org' } } as never);
    await server.put({ resourceType: 'PractitionerRole', id: 'biologist-other', practitioner: { reference: 'Practitioner/biologist' }, organization: { reference: 'Organization/other-org' } } as never);
    await server.put({ resourceType: 'Practitioner', id: 'outsider', name: [{ family: 'Ailleurs' }] } as never);
    await server.put({ resourceType: 'PractitionerRole', id: 'outsider-other', practitioner: { reference: 'Practitioner/outsider' }, organization: { reference: 'Organization/other-org' } } as never);
    patient = (await server.put({ resourceType: 'Patient', id: 'lab-patient', name: [{ family: 'Durand' }] } as never)).id;
  });
  afterAll(async () => {
    await server.close();
    await new Promise((resolve) => jwksHost.close(resolve));
    registry.remove();
  });

  const tokenOf = async (key: ClientKey, clientId: string, scope = LAB_SCOPE) => {
    const res = await postToken(server.request, tokenForm(await assertion(key, clientId), scope));
    expect(res.status).toBe(200);
    return res.body as { access_token: string; token_type: string; expires_in: number; scope: string };
  };

  const labReport = (authors: string[]) => ({
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11502-2' }] },
    subject: { reference: `Patient/${patient}` },
    author: authors.map((reference) => ({ reference })),
    content: [{ attachment: { contentType: 'application/pdf', data: 'SGVsbG8=' } }],
  });

  it('a laboratory (RS384, form-encoded) gets a 5-minute token of the server carrying its scopes and Organization', async () => {
    const res = await postToken(server.request, tokenForm(await assertion(rsa, 'lab-rs'), `${LAB_SCOPE} system/Observation.write openid`));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'bearer', expires_in: 300, scope: LAB_SCOPE });
    const jwks = (await server.request.get('/auth/jwks')).body;
    const { payload } = await jwtVerify(res.body.access_token, createLocalJWKSet(jwks), { issuer: BASE });
    expect(payload).toMatchObject({ sub: 'lab-rs', scope: LAB_SCOPE, organization: 'Organization/lab-org' });
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(payload.fhirUser).toBeUndefined();
  });

  it('an ES384 assertion in a JSON body is accepted too', async () => {
    const res = await server.request.post('/auth/token').set('Content-Type', 'application/json').send(JSON.stringify(tokenForm(await assertion(ec, 'lab-es'), 'system/Patient.read')));
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('system/Patient.read');
  });

  it.each([
    ['its own Organization', ['Organization/lab-org'], 201],
    ['a practitioner of its Organization', ['Practitioner/biologist'], 201],
    ['a PractitionerRole at its Organization', ['PractitionerRole/biologist-lab'], 201],
    ['another Organization', ['Organization/other-org'], 422],
    ['a practitioner of another Organization', ['Practitioner/outsider'], 422],
    ["its practitioner's PractitionerRole at another Organization", ['PractitionerRole/biologist-other'], 422],
    ["another Organization's PractitionerRole", ['PractitionerRole/outsider-other'], 422],
    ['a PractitionerRole that does not exist', ['PractitionerRole/nobody'], 422],
  ])('the token works on /fhir: a lab report naming %s as author (%j) → %i', async (_name, authors, status) => {
    const { access_token } = await tokenOf(ec, 'lab-es');
    const res = await send(server, 'post', 'DocumentReference', access_token, labReport(authors));
    expect(res.status).toBe(status);
    if (status === 422) expect(res.body.issue[0].expression).toEqual(['DocumentReference.author[0]']);
  });

  it('the granted scopes cap the token on /fhir (no Observation write was granted)', async () => {
    const { access_token } = await tokenOf(rsa, 'lab-rs', 'system/Patient.read system/Observation.write');
    const res = await send(server, 'post', 'Observation', access_token, { resourceType: 'Observation', status: 'final', code: { text: 'glycémie' }, subject: { reference: `Patient/${patient}` } });
    expect(res.status).toBe(403);
  });

  type Case = [string, number, string, RegExp, () => Promise<Record<string, string> | string>];
  const now = () => Math.floor(Date.now() / 1000);
  const form = async (claims: Record<string, unknown> = {}, scope = LAB_SCOPE, key = ec, client = 'lab-es') => tokenForm(await assertion(key, client, claims), scope);
  const cases: Case[] = [
    ['wrong audience (the FHIR base)', 401, 'invalid_client', /"aud" claim/, () => form({ aud: `${BASE}/fhir` })],
    ['expired', 401, 'invalid_client', /expired/, () => form({ exp: now() - 60, iat: now() - 360 })],
    ['exp more than 5 minutes ahead', 401, 'invalid_client', /at most 5 minutes/, () => form({ exp: now() + 600 })],
    ['no jti', 401, 'invalid_client', /"jti" claim is missing/, () => form({ jti: undefined })],
    ['iss other than sub', 401, 'invalid_client', /iss = sub/, () => form({ sub: 'lab-rs' })],
    ['unknown client', 401, 'invalid_client', /not registered/, () => form({ iss: 'nobody', sub: 'nobody' }, LAB_SCOPE, ec, 'nobody')],
    ['wrong key under the registered kid', 401, 'invalid_client', /signature is invalid/, () => form({}, LAB_SCOPE, stranger)],
    ["another client's key", 401, 'invalid_client', /key the client has not registered/, () => form({}, LAB_SCOPE, rsa, 'lab-es')],
    ['client_id parameter naming another client', 401, 'invalid_client', /client_id does not match/, async () => ({ ...(await form()), client_id: 'lab-rs' })],
    ['alg none', 401, 'invalid_client', /RS384 or ES384/, async () => tokenForm(new UnsecuredJWT({ iss: 'lab-es', sub: 'lab-es', aud: TOKEN_URL, exp: now() + 60, jti: 'none-1' }).encode(), LAB_SCOPE)],
    [
      'HS256 (with the public key as the secret)',
      401,
      'invalid_client',
      /RS384 or ES384/,
      async () => tokenForm(await new SignJWT({ iss: 'lab-es', sub: 'lab-es', aud: TOKEN_URL, exp: now() + 60, jti: 'hs-1' }).setProtectedHeader({ alg: 'HS256', kid: ec.kid }).sign(new TextEncoder().encode(JSON.stringify(ec.publicJwk))), LAB_SCOPE),
    ],
    ['a scope outside the registration', 400, 'invalid_scope', /none of the requested scopes/, () => form({}, 'system/Observation.write system/*.read')],
    ['wrong grant_type', 400, 'unsupported_grant_type', /client_credentials/, async () => ({ ...(await form()), grant_type: 'password' })],
    ['no grant_type', 400, 'invalid_request', /grant_type is required/, async () => ({ ...(await form()), grant_type: '' })],
    ['no client_assertion', 400, 'invalid_request', /client_assertion is required/, async () => ({ ...(await form()), client_assertion: '' })],
    ['another client_assertion_type', 400, 'invalid_request', /client_assertion_type must be/, async () => ({ ...(await form()), client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' })],
    ['no scope', 400, 'invalid_request', /scope is required/, async () => ({ ...(await form()), scope: '' })],
    ['an assertion that is not a JWT', 401, 'invalid_client', /not a JWT/, async () => ({ ...(await form()), client_assertion: 'not-a-jwt' })],
    ['a body that is not parameters', 400, 'invalid_request', /x-www-form-urlencoded/, async () => 'grant_type=client_credentials'],
  ];

  it.each(cases)('%s → %i %s', async (_name, status, error, description, body) => {
    const params = await body();
    const res = typeof params === 'string' ? await server.request.post('/auth/token').set('Content-Type', 'text/plain').send(params) : await postToken(server.request, params);
    expect(res.status).toBe(status);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ error, error_description: expect.stringMatching(description) });
  });

  it('a parameter given twice is an invalid_request', async () => {
    const body = `${new URLSearchParams(tokenForm(await assertion(ec, 'lab-es'), LAB_SCOPE))}&scope=system%2FPatient.read`;
    const res = await server.request.post('/auth/token').type('form').send(body);
    expect([res.status, res.body.error]).toEqual([400, 'invalid_request']);
  });

  it('an assertion is accepted once, also across two server processes of the database', async () => {
    const sibling = await server.sibling();
    try {
      const other = supertest.agent(sibling.app);
      const once = tokenForm(await assertion(ec, 'lab-es'), LAB_SCOPE);
      expect((await postToken(other, once)).status).toBe(200);
      const replays = [await postToken(server.request, once), await postToken(other, once)];
      expect(replays.map((res) => [res.status, res.body.error])).toEqual([
        [401, 'invalid_client'],
        [401, 'invalid_client'],
      ]);
      const racing = tokenForm(await assertion(rsa, 'lab-rs'), LAB_SCOPE);
      const raced = await Promise.all([postToken(server.request, racing), postToken(other, racing), postToken(server.request, racing)]);
      expect(raced.map((res) => res.status).sort()).toEqual([200, 401, 401]);
    } finally {
      await sibling.close();
    }
  });

  it('a client whose keys are at a jwks_uri: a new kid is fetched again, an unknown one refused', async () => {
    expect((await postToken(server.request, tokenForm(await assertion(remoteA, 'lab-remote'), 'system/Patient.read'))).status).toBe(200);
    const before = fetches;
    served = [remoteA.publicJwk, remoteB.publicJwk]; // the client rotates its keys
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the fetch cooldown
    const rotated = await postToken(server.request, tokenForm(await assertion(remoteB, 'lab-remote'), 'system/Patient.read'));
    expect(rotated.status).toBe(200);
    expect(fetches).toBe(before + 1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const unknown = await postToken(server.request, tokenForm(await assertion(await clientKey('ES384'), 'lab-remote'), 'system/Patient.read'));
    expect([unknown.status, unknown.body.error]).toEqual([401, 'invalid_client']);
  });

  it('a client registered after the start is known at its first request (the file is re-read)', async () => {
    const late = await clientKey('ES384');
    registry.write([...registrations, { client_id: 'lab-late', jwks: { keys: [late.publicJwk] }, scope: 'system/Patient.read' }]);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the registry's cooldown
    const res = await postToken(server.request, tokenForm(await assertion(late, 'lab-late'), 'system/Patient.read'));
    expect([res.status, res.body.scope]).toEqual([200, 'system/Patient.read']);
  });

  it('GET /auth/token is not a token endpoint; the assertion type constant is the RFC 7523 one', async () => {
    expect((await server.request.get('/auth/token')).status).toBe(404);
    expect(JWT_BEARER).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  });
});

describe('granted scope = requested ∩ registered', () => {
  it.each([
    ['exactly registered', 'system/Patient.read', 'system/Patient.read', 'system/Patient.read'],
    ['v2 letters cut to what is registered', 'system/DocumentReference.cruds', 'system/DocumentReference.write', 'system/DocumentReference.cud'],
    ['a type under a registered *', 'system/Patient.rs', 'system/*.read', 'system/Patient.rs'],
    ['a * type needs a registered *', 'system/*.read', 'system/Patient.read', ''],
    ['other contexts and words are dropped', 'patient/*.read user/*.* openid system/Patient.r', 'system/*.*', 'system/Patient.r'],
    ['nothing in common', 'system/Observation.write', 'system/Patient.read', ''],
    ['a ?query scope grants nothing', 'system/Observation.rs?category=laboratory', 'system/*.*', ''],
  ])('%s: %s of %s → "%s"', (_name, requested, registered, granted) => {
    expect(grantedScope(requested, registered)).toBe(granted);
  });
});
