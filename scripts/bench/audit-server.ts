/**
 * The server side of `npm run bench:audit`: one process, one database, one
 * composition of Carnet served twice — on `port` without auditing and on
 * `auditedPort` through the AuditedRouter — so the two are measured under the
 * same conditions. Built from the modules directly (not src/server.ts) so it
 * measures auditing on vs off whatever the server wiring. No worker runs here.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/http/logging';
import { createCarnet } from '../../src/server';
import { createApp } from '../../src/http/app';
import { buildRouter } from '../../src/api/routes';
import { ConformanceCatalogue } from '../../src/conformance/catalogue';
import { createIdentity } from '../../src/identity/authenticate';
import { AuditTrail } from '../../src/audit/trail';
import { AuditedRouter } from '../../src/audit/audited';
import type { FhirRouter } from '../../src/api/router';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('audit-server needs DATABASE_URL');
  const carnet = await createCarnet(config, url, logger);
  const identity = await createIdentity(config, carnet.db);
  const capability = () => ({ resourceType: 'CapabilityStatement' as const, status: 'active' as const, date: '2026-11-26', kind: 'instance' as const, fhirVersion: '4.0.1' as const, format: ['json'] });
  const bare = buildRouter({ catalogue: new ConformanceCatalogue(), capabilityStatement: capability });
  const trail = new AuditTrail(carnet.db);
  const withHistory = new AuditedRouter(bare, trail, { observer: `${config.baseUrl}/fhir` });
  const app = (router: FhirRouter) =>
    createApp({ ctx: carnet.ctx, router, logger, maxBodyBytes: config.maxBodyBytes, authenticate: identity.authenticate, ready: async () => true });
  const listen = (router: FhirRouter) =>
    new Promise<Server>((resolve) => {
      const server: Server = app(router).listen(0, '127.0.0.1', () => resolve(server));
    });
  const off = await listen(bare);
  const on = await listen(withHistory);
  const port = (server: Server) => (server.address() as AddressInfo).port;
  console.log(JSON.stringify({ msg: 'bench audit ready', port: port(off), auditedPort: port(on)}));
  process.on('SIGTERM', () => {
    off.close();
    on.close();
    void trail.close().then(() => carnet.close()).then(() => process.exit(0));
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
