import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { AuthSession } from '../app/session.js';
import { PAGE, benchAppConfig, ourApp } from './apps.js';
import { type TokenSet, authCookie, authSession, pastHalfLife, syntheticTokenSet } from './session.js';
import { type Mode, type Section, num, table } from './stats.js';

/**
 * Scenario 5: the app's heap after 10,000 distinct sessions made a request. The app keeps no per-session state,
 * except the renewal cache (one sealed outcome per renewal, until the old cookie expires).
 * Measured in a child process started with --expose-gc, so a full GC precedes every reading and no other
 * scenario's garbage is counted. This file is both the scenario (parent) and the measurement (child).
 */

const SESSIONS = 10_000;
/** Renewals are slower (each seals two values); quick mode measures their cost on fewer. */
const RENEWALS = { quick: 2_000, full: 10_000 };
const DEMO_TTL_MS = 60_000;
const CHILD_FLAG = '--memory-child';

interface Reading {
  label: string;
  heapBytes: number;
  cachedOutcomes: number;
}

async function heapAfterGc(): Promise<number> {
  // Twice, with a turn of the event loop between: sockets and promises let go of their buffers late.
  for (let i = 0; i < 2; i++) {
    globalThis.gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** Distinct users: each its own subject and refresh token, hence its own sealed cookie. */
function userSession(base: TokenSet, i: number, now: number): AuthSession {
  return authSession({ ...base, refreshToken: randomBytes(32).toString('base64url'), claims: { ...base.claims, sub: `user-${i}` } }, now, DEMO_TTL_MS);
}

async function measure(renewalCount: number): Promise<Reading[]> {
  let now = Date.now();
  const clock = () => now;
  const base = await syntheticTokenSet();
  // Renewals without an IdP: the stub answers like the token endpoint would, with a rotated refresh token.
  const { app, cachedOutcomes } = await ourApp({
    now: clock,
    refresh: async (session) => ({ kind: 'renewed', session: { ...session, refreshToken: randomBytes(32).toString('base64url'), issuedAt: clock(), expiresAt: clock() + DEMO_TTL_MS, renewals: session.renewals + 1 } }),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PAGE}`;

  // Cookies are minted right before their request and dropped after it: holding 10,000 of them would be our heap, not the app's.
  const visit = async (count: number, session: (i: number) => AuthSession, offset = 0) => {
    const CONCURRENCY = 10;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = offset + next++;
        const res = await fetch(url, { headers: { cookie: authCookie(session(i)) } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`session ${i} answered ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
  const fresh = (i: number) => userSession(base, i, now);
  const renewing = (i: number) => pastHalfLife(userSession(base, i, now), now);

  const readings: Reading[] = [];
  const read = async (label: string) => readings.push({ label, heapBytes: await heapAfterGc(), cachedOutcomes: cachedOutcomes() });

  await visit(500, fresh, 1_000_000); // warm-up: code compiled, connections pooled
  await read('after warm-up (500 requests)');
  await visit(SESSIONS, fresh);
  await read(`after ${num(SESSIONS)} distinct sessions, no renewal due`);
  await visit(renewalCount, renewing, SESSIONS);
  await read(`after ${num(renewalCount)} more distinct sessions, each renewed`);
  now += DEMO_TTL_MS; // every renewed-from cookie has expired: their outcomes are swept on the next renewal
  await visit(1, renewing, 3 * SESSIONS);
  await read('one token lifetime later, after one more renewal');
  server.close();
  return readings;
}

if (process.argv.includes(CHILD_FLAG) && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  process.send!(await measure(Number(process.argv[process.argv.indexOf(CHILD_FLAG) + 1])));
  process.exit(0);
}

export async function memoryScenario({ quick }: Mode): Promise<Section> {
  const renewalCount = quick ? RENEWALS.quick : RENEWALS.full;
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, String(renewalCount)], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const readings = await new Promise<Reading[]>((resolve, reject) => {
    child.once('message', (message) => resolve(message as Reading[]));
    child.once('exit', (code) => reject(new Error(`the memory child exited (${code}) without a result`)));
  });
  const [warm, plain, renewed, later] = readings as [Reading, Reading, Reading, Reading];
  const mb = (bytes: number) => `${num(bytes / 2 ** 20, 1)} MB`;
  const perSession = (plain.heapBytes - warm.heapBytes) / SESSIONS;
  const perRenewal = (renewed.heapBytes - plain.heapBytes) / renewalCount;
  // Each cached cookie: its ~1 KB value, a 40-character key and the opened session (~1.5 KB); 4 KB is a generous bound.
  const cacheEntries = benchAppConfig().cookieCacheEntries;
  const cacheBound = cacheEntries * 4096;
  const bounded = plain.heapBytes - warm.heapBytes < cacheBound;
  const markdown = [
    table(
      ['moment', 'heap used (after full GC)', 'change since warm-up', 'renewal outcomes cached'],
      readings.map((r) => [r.label, mb(r.heapBytes), mb(r.heapBytes - warm.heapBytes), num(r.cachedOutcomes)]),
    ),
    '',
    `Our middleware and \`GET ${PAGE}\` in one process (\`--expose-gc\`), requests over loopback from the same process, 10 at a time;`,
    'renewals use a stubbed refresh (no IdP) so that only the app\'s own memory is measured; the clock is the app\'s injected one.',
    '',
    `- Per session that made a request: **${num(perSession)} bytes**: the app keeps nothing per session except the ${num(cacheEntries)} most recently opened cookies (\`APP_COOKIE_CACHE_ENTRIES\`) and, per open connection, the last one it sent, so this stays flat as sessions grow.`,
    `- Per renewal, while the old cookie may still arrive: **${num(perRenewal)} bytes** (the sealed outcome, kept until the old cookie expires, at most half a token lifetime).`,
    `- One token lifetime later the cache holds ${num(later.cachedOutcomes)} outcome(s) and the heap is ${mb(later.heapBytes - warm.heapBytes)} away from its warm-up level.`,
  ].join('\n');
  return {
    title: '5. Memory',
    markdown,
    checks: [
      {
        target: `5. heap growth after ${num(SESSIONS)} sessions within the opened-cookie cache bound (${num(cacheEntries)} × 4 KB = ${mb(cacheBound)})`,
        met: bounded,
        measured: mb(plain.heapBytes - warm.heapBytes),
      },
      { target: '5. renewal cache drains after a token lifetime', met: later.cachedOutcomes <= 1, measured: `${num(later.cachedOutcomes)} left` },
    ],
  };
}
