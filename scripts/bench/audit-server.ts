/**
 * The server side of `npm run bench:audit`: Carnet as production composes it
 * (createCarnet: identify → session → audit → route), on DATABASE_URL, on an
 * ephemeral port. The audit is a stage of the production pipeline, not an
 * option: there is no un-audited composition to serve beside it, so the
 * bench measures this server only. The notification worker follows the
 * configuration (the bench sets NOTIFY_WORKER=off and drains the outbox itself).
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/http/logging';
import { createCarnet } from '../../src/server';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('audit-server needs DATABASE_URL');
  const carnet = await createCarnet(config, url, logger);
  const server = await new Promise<Server>((resolve) => {
    const listening: Server = carnet.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  console.log(JSON.stringify({ msg: 'bench audit ready', port: (server.address() as AddressInfo).port }));
  process.on('SIGTERM', () => {
    server.close();
    void carnet.close().then(() => process.exit(0));
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
