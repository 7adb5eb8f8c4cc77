/**
 * Child-process entry of the soak: `node --import tsx --expose-gc scripts/soak-server.ts <idp|app>`.
 * Binds a loopback port and reports it (`port`), builds the service once told both URLs (`start`), answers `memory`,
 * and exits on `exit` or when the parent goes away, so a crashed soak leaves nothing running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type RequestListener, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readAppConfig } from '../app/config.js';
import { createApp } from '../app/demo/app.js';
import { readIdpConfig } from '../idp/config.js';
import { CROWD_THROTTLE } from '../test/helpers/chaos.js';
import { createIdp } from '../idp/app.js';

export interface SoakUrls {
  idpUrl: string;
  appUrl: string;
}

export interface Memory {
  rssMb: number;
  heapMb: number;
  /** Buffers and other memory V8 tracks outside its heap. */
  externalMb: number;
}

interface Built {
  handler: RequestListener;
  close(): Promise<void>;
}

const TOKEN_TTL_S = '60';
const LOG_LEVEL = 'warn';

/** The IdP on SQLite in a temporary directory, with one-minute tokens. */
async function idp({ idpUrl, appUrl }: SoakUrls): Promise<Built> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'soak-idp-'));
  const config = readIdpConfig({
    IDP_ISSUER: idpUrl,
    APP_BASE_URL: appUrl,
    IDP_STORE: 'sqlite',
    IDP_DATA_DIR: dataDir,
    IDP_ACCESS_TOKEN_TTL: TOKEN_TTL_S,
    IDP_REFRESH_TOKEN_TTL: TOKEN_TTL_S,
    IDP_ID_TOKEN_TTL: TOKEN_TTL_S,
    LOG_LEVEL,
  });
  // Every simulated user signs in as bob from loopback, many at once: far above the sign-in limits.
  const built = await createIdp(config, { throttle: CROWD_THROTTLE });
  return {
    handler: built.app,
    async close() {
      await built.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function app({ idpUrl, appUrl }: SoakUrls): Promise<Built> {
  const built = await createApp(readAppConfig({ IDP_ISSUER: idpUrl, APP_BASE_URL: appUrl, API_BASE_URL: 'http://127.0.0.1:9', LOG_LEVEL }));
  return { handler: built.app, close: built.close };
}

async function memory(): Promise<Memory> {
  // A full collection first, twice with a turn between, so the heap figure is live data rather than garbage.
  for (let i = 0; i < 2; i += 1) {
    globalThis.gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rssMb: rss / 2 ** 20, heapMb: heapUsed / 2 ** 20, externalMb: external / 2 ** 20 };
}

async function main() {
  const kind = process.argv[2];
  const build = kind === 'idp' ? idp : kind === 'app' ? app : undefined;
  if (!build) throw new Error('usage: soak-server.ts <idp|app>');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let built: Built | undefined;
  const stop = async () => {
    server.closeAllConnections();
    server.close();
    await built?.close();
    process.exit(0);
  };
  const handlers: Record<string, (data: unknown) => unknown> = {
    start: async (urls) => {
      built = await build(urls as SoakUrls);
      server.on('request', built.handler);
    },
    memory,
    exit: stop,
  };
  process.on('message', async ({ type, data }: { type: string; data?: unknown }) => {
    const handler = handlers[type];
    if (handler) process.send!({ type, data: await handler(data) });
  });
  process.on('disconnect', () => void stop());
  process.send!({ type: 'port', data: (server.address() as AddressInfo).port });
}

await main();
