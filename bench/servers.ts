import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type RequestListener, createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CustomFetch } from 'openid-client';
import { silentLogger } from '../common/log.js';
import { deleteRedisKeys } from '../test/helpers/redis.js';
import { readIdpConfig } from '../idp/config.js';
import { createIdp } from '../idp/app.js';
import { bareApp, eocApp, ourApp } from './apps.js';
import { BENCH_CLIENT_SECRET } from './oidc.js';

/**
 * Child-process entry: `node --import tsx bench/servers.ts <kind> [options-json]`.
 * Each server under test runs alone in its own process so the load generator never shares its event loop.
 * It listens on a loopback port, reports it over IPC (`ready`), answers `stats`, `cpu`, `profile-start` and `profile-stop`,
 * and exits on `exit` or when the parent goes away (the bench stops by itself even if the parent crashes).
 */

type ServerKind = 'bare' | 'ours' | 'eoc' | 'idp';

interface Built {
  handler: RequestListener;
  stats?: () => Record<string, unknown>;
  close?: () => Promise<void>;
}

type Options = Record<string, string | undefined>;

/** Counts and times the app's calls to the IdP's token endpoint: a renewal must cost exactly one. */
function countingFetch() {
  const counts = { tokenCalls: 0, tokenWaitsMs: [] as number[] };
  const fetchFn: CustomFetch = async (url, options) => {
    if (!new URL(url).pathname.endsWith('/token')) return fetch(url, options as RequestInit);
    const start = performance.now();
    const response = await fetch(url, options as RequestInit);
    const body = await response.arrayBuffer();
    counts.tokenCalls++;
    counts.tokenWaitsMs.push(performance.now() - start);
    return new Response(body, response);
  };
  return { fetch: fetchFn, counts };
}

/**
 * The real IdP with the given token store (`memory`, `sqlite`, `redis`), in a throw-away data directory or Redis
 * prefix, issuer = this server's URL. Counts token requests as oidc-provider reports them.
 */
async function idpServer(store: string, redisUrl: string | undefined, issuer: string): Promise<Built> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-idp-'));
  const redisPrefix = `bench-idp:${randomBytes(6).toString('hex')}:`;
  const config = readIdpConfig({
    IDP_ISSUER: issuer,
    IDP_STORE: store,
    IDP_DATA_DIR: dataDir,
    REDIS_URL: redisUrl,
    IDP_REDIS_PREFIX: redisPrefix,
    // A throw-away prefix on whatever Redis the bench is given: losing it on a restart costs nothing.
    IDP_REDIS_ALLOW_VOLATILE: 'true',
    MVC_CLIENT_SECRET: BENCH_CLIENT_SECRET,
    LOG_LEVEL: 'error',
  });
  const idp = await createIdp(config, { logger: silentLogger });
  const counts = { grants: 0, refreshes: 0, refused: 0 };
  idp.provider.on('grant.success', (ctx) => {
    counts.grants++;
    if (ctx.oidc.params?.grant_type === 'refresh_token') counts.refreshes++;
  });
  idp.provider.on('grant.error', () => counts.refused++);
  return {
    handler: idp.app,
    stats: () => ({ ...counts }),
    close: async () => {
      await idp.close();
      await rm(dataDir, { recursive: true, force: true });
      if (store === 'redis') await deleteRedisKeys(redisUrl!, redisPrefix);
    },
  };
}

const builders: Record<ServerKind, (options: Options, url: string) => Promise<Built> | Built> = {
  bare: ({ busyUs }) => ({ handler: bareApp({ busyUs: Number(busyUs ?? 0) }) }),
  ours: async ({ issuer, redisUrl }) => {
    const counter = countingFetch();
    const { app, cachedOutcomes, close } = await ourApp({ issuer, redisUrl, fetch: counter.fetch });
    return { handler: app, stats: () => ({ ...counter.counts, cachedOutcomes: cachedOutcomes() }), close };
  },
  eoc: () => ({ handler: eocApp() }),
  idp: ({ store = 'memory', redisUrl }, url) => idpServer(store, redisUrl, url),
};

async function main() {
  const [kind, optionsJson = '{}'] = process.argv.slice(2);
  if (!kind || !(kind in builders)) throw new Error(`usage: servers.ts <${Object.keys(builders).join('|')}> [options-json]`);
  // Listen first: the IdP's issuer must name the port it is reached on.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const built = await builders[kind as ServerKind](JSON.parse(optionsJson) as Options, `http://127.0.0.1:${port}`);
  server.on('request', built.handler);
  const stop = async () => {
    server.closeAllConnections();
    server.close();
    await built.close?.();
    process.exit(0);
  };
  // The V8 CPU profiler that `node --cpu-prof` drives, started only around the measured load:
  // start-up, module loading and warm-up stay out of the profile.
  const inspector = new Session();
  const handlers: Record<string, () => unknown> = {
    stats: () => built.stats?.() ?? {},
    // CPU time of the whole process (every thread), in µs: the server's own cost, whatever else the machine runs.
    cpu: () => {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
    'profile-start': async () => {
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
    },
    'profile-stop': async () => (await inspector.post('Profiler.stop')).profile,
    exit: stop,
  };
  process.on('message', async ({ type }: { type: string }) => {
    const handler = handlers[type];
    if (handler) process.send!({ type, data: await handler() });
  });
  process.on('disconnect', () => void stop());
  process.send!({ type: 'ready', data: port });
}

await main();
