/**
 * RoleCache (src/identity/role-cache.ts): a practitioner's roles are read
 * once, and a PractitionerRole write changes what they may read at the next
 * request — in the process that took the write at once, in another process
 * once PostgreSQL delivered the notification; without its listener the cache
 * caches nothing.
 */
import type { PractitionerRole, Resource } from 'fhir/r4';
import { RoleCache } from '../../src/identity/role-cache';
import type { CallerLookup } from '../../src/identity/resolve';
import { choice, documentReference, patientResource } from '../access/builders';
import { get, send, startTestServer, type TestServer } from '../support/server';

const TREG15 = 'https://mos.esante.gouv.fr/NOS/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante';
const role = (profession: string, extra: Partial<PractitionerRole> = {}): PractitionerRole => ({
  resourceType: 'PractitionerRole',
  id: 'dr-role',
  practitioner: { reference: 'Practitioner/dr' },
  code: [{ coding: [{ system: TREG15, code: profession }] }],
  ...extra,
});

/** A CallerLookup counting its role reads. */
function countingLookup(roles: PractitionerRole[] = []): CallerLookup & { reads: number } {
  const lookup = {
    reads: 0,
    relatedPerson: async () => undefined,
    patient: async () => undefined,
    activeRoles: async () => {
      lookup.reads++;
      return roles;
    },
  };
  return lookup;
}

const databaseUrl = (server: TestServer) => (server.carnet.db.client.config as { connection: { connectionString: string } }).connection.connectionString;

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  for (const started = Date.now(); !condition(); ) {
    if (Date.now() - started > ms) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('RoleCache', () => {
  let server: TestServer;
  let operator: string;
  let dr: string;

  beforeAll(async () => {
    server = await startTestServer();
    operator = await server.systemToken('directory', 'system/*.*');
    const writes: Array<[Resource, string]> = [
      [{ resourceType: 'Practitioner', id: 'dr' } as Resource, operator],
      [role('10'), operator],
    ];
    for (const [resource, token] of writes) expect((await send(server, 'put', `${resource.resourceType}/${resource.id}`, token, resource)).status).toBe(201);
    // patient data takes no client id over the API (CONTRACT §2): seeded under the ids the cases name
    await server.put(patientResource('pat'), 'client:directory');
    await server.put(documentReference('psy', 'pat', { type: '68599-0' }), 'client:lab');
    await server.put(choice('authorize', 'pat', { id: 'auth-dr', actors: ['Practitioner/dr'] }), 'Patient/pat');
    dr = await server.practitionerToken('dr');
  });
  afterAll(() => server.close());

  it('a role change counts at the next request of the process that took it', async () => {
    expect((await get(server, 'DocumentReference/psy', dr)).status).toBe(200); // médecin: psychiatric report
    expect((await get(server, 'DocumentReference/psy', dr)).status).toBe(200); // served from the cache
    expect((await send(server, 'put', 'PractitionerRole/dr-role', operator, role('21'))).status).toBe(200); // now a pharmacist
    expect((await get(server, 'DocumentReference/psy', dr)).status).toBe(404);
    expect((await send(server, 'put', 'PractitionerRole/dr-role', operator, role('10', { active: false }))).status).toBe(200);
    expect((await get(server, 'DocumentReference/psy', dr)).status).toBe(404); // no active role, no grid right
    expect((await send(server, 'put', 'PractitionerRole/dr-role', operator, role('10'))).status).toBe(200);
    expect((await get(server, 'DocumentReference/psy', dr)).status).toBe(200);
  });

  it('reads once while nothing changes, again after a PractitionerRole write elsewhere', async () => {
    const other = new RoleCache(databaseUrl(server));
    await other.start();
    try {
      const inner = countingLookup([role('10')]);
      const lookup = other.wrap(inner);
      await lookup.activeRoles('dr');
      await lookup.activeRoles('dr');
      expect(inner.reads).toBe(1);
      expect((await send(server, 'put', 'PractitionerRole/dr-role', operator, role('10', { specialty: [{ text: 'x' }] }))).status).toBe(200);
      await until(() => {
        void lookup.activeRoles('dr');
        return inner.reads >= 2;
      });
    } finally {
      await other.close();
    }
  });

  it('without its listener nothing is cached; entries expire after ttl', async () => {
    const unreachable = new RoleCache('postgres://nobody:wrong@127.0.0.1:1/none', { reconnectMs: 60_000 });
    await unreachable.start();
    const inner = countingLookup();
    const lookup = unreachable.wrap(inner);
    await lookup.activeRoles('dr');
    await lookup.activeRoles('dr');
    expect(unreachable.active).toBe(false);
    expect(inner.reads).toBe(2);
    await unreachable.close();

    let now = 0;
    const timed = new RoleCache(databaseUrl(server), { ttlMs: 1000, now: () => now });
    await timed.start();
    try {
      const counted = countingLookup();
      const cached = timed.wrap(counted);
      await cached.activeRoles('dr');
      now = 999;
      await cached.activeRoles('dr');
      expect(counted.reads).toBe(1);
      now = 1001;
      await cached.activeRoles('dr');
      expect(counted.reads).toBe(2);
    } finally {
      await timed.close();
    }
  });
});
