import { afterEach, describe, expect, test } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAppConfig } from '../../app/config.js';
import { createApp } from '../../app/demo/app.js';
import { silentLogger } from '../../common/log.js';
import { COOKIE_KEYS, testClock } from '../helpers/app.js';
import { NO_HARM, harm, isRevocation, newTally, signedInBrowser, summary, visit } from '../helpers/chaos.js';
import { type FaultProxy, type RefreshCall, startFaultProxy } from '../helpers/fault-proxy.js';
import { freePort, reserveServer } from '../helpers/ports.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MVC_SECRET = 'mvc-chaos-secret-0001';
const TOKEN_TTL_S = 60;
const IDP_TIMEOUT_MS = 1_500;
const STEP_MS = 10_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `npm run idp` as a child process on SQLite: killable with SIGKILL, restartable on the same port and data directory. */
async function idpProcess(env: Record<string, string>) {
  const log: Record<string, unknown>[] = [];
  let child: ChildProcess | undefined;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const { NODE_OPTIONS: _jestFlags, ...inherited } = process.env;
      const started = spawn(process.execPath, ['--import', 'tsx', 'idp/server.ts'], { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      child = started;
      let stderr = '';
      started.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      let pending = '';
      started.stdout!.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString()).split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (line.startsWith('idp: issuer')) resolve();
          else if (line.startsWith('{')) log.push(JSON.parse(line) as Record<string, unknown>);
        }
      });
      started.once('exit', (code) => reject(new Error(`IdP exited (${code}) before listening: ${stderr.slice(0, 500)}`)));
    });
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { start, kill, revoked: () => log.filter(isRevocation).length };
}

type KillPoint = { after: 'forwarded'; ms: number } | { after: 'answered' };
const describePoint = (point: KillPoint) => (point.after === 'answered' ? 'answered, not delivered' : `forwarded +${point.ms} ms`);

/**
 * App (in-process, injected clock) → fault proxy → IdP child process on SQLite. Sessions sign in, the clock passes
 * half-life, and each session's first renewal is cut off by a SIGKILL of the IdP at `points[i]`; the answer never
 * reaches the app. The IdP is restarted on the same port and data, and all sessions go on for two more lifetimes.
 */
async function killRun(graceS: number, points: KillPoint[]) {
  const proxy = await startFaultProxy();
  cleanups.push(() => proxy.close());
  const appServer = await reserveServer();
  cleanups.push(() => appServer.close());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'chaos-idp-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const ttl = String(TOKEN_TTL_S);
  const idp = await idpProcess({
    IDP_PORT: String(port),
    IDP_ISSUER: proxy.url,
    IDP_DATA_DIR: dataDir,
    IDP_STORE: 'sqlite',
    APP_BASE_URL: appServer.url,
    MVC_CLIENT_SECRET: MVC_SECRET,
    IDP_ACCESS_TOKEN_TTL: ttl,
    IDP_ID_TOKEN_TTL: ttl,
    IDP_REFRESH_TOKEN_TTL: ttl,
    IDP_REFRESH_REUSE_GRACE_S: String(graceS),
    LOG_LEVEL: 'info',
  });
  cleanups.push(() => idp.kill());
  proxy.target = `http://127.0.0.1:${port}`;

  const clock = testClock();
  const appConfig = readAppConfig({
    IDP_ISSUER: proxy.url,
    APP_BASE_URL: appServer.url,
    MVC_CLIENT_SECRET: MVC_SECRET,
    APP_COOKIE_KEYS: COOKIE_KEYS.join(','),
    API_BASE_URL: 'http://127.0.0.1:9',
    APP_IDP_TIMEOUT_MS: String(IDP_TIMEOUT_MS),
    LOG_LEVEL: 'error',
  });
  const app = await createApp(appConfig, { now: clock.now, logger: silentLogger });
  cleanups.push(() => app.close());
  appServer.server.on('request', app.app);

  const tally = newTally();
  // One after another: the child IdP keeps its default sign-in limits (5 at once per account and address).
  const browsers = [];
  for (const _point of points) browsers.push(await signedInBrowser(appServer.url, clock.now, tally));
  clock.advance(TOKEN_TTL_S * 500);
  let live: typeof browsers = [];
  for (const [i, browser] of browsers.entries()) {
    armKill(proxy, points[i]!, idp.kill);
    if (await visit(browser, appServer.url, tally)) live.push(browser);
    await idp.start();
  }
  proxy.plan = () => undefined;
  proxy.hooks = {};
  for (let elapsed = 0; elapsed < 2 * TOKEN_TTL_S * 1000; elapsed += STEP_MS) {
    clock.advance(STEP_MS);
    const still = await Promise.all(live.map((browser) => visit(browser, appServer.url, tally)));
    live = live.filter((_browser, i) => still[i]);
  }
  const revoked = idp.revoked();
  console.log(`chaos IdP SIGKILL on SQLite, grace ${graceS} s, kill points [${points.map(describePoint).join(', ')}]: ${summary(tally, proxy.counts, revoked)}`);
  return { tally, revoked };
}

/** The next refresh request's answer is lost, the IdP killed at `point`. */
function armKill(proxy: FaultProxy, point: KillPoint, kill: () => Promise<void>) {
  let armed: number | undefined;
  proxy.plan = ({ n }) => {
    armed ??= n;
    return n === armed ? 'drop' : undefined;
  };
  const atArmed = (action: () => Promise<void>) => async ({ n }: RefreshCall) => {
    if (n === armed) await action();
  };
  proxy.hooks =
    point.after === 'answered'
      ? { answered: atArmed(kill) }
      : { forwarded: atArmed(async () => (await new Promise((resolve) => setTimeout(resolve, point.ms)), kill())) };
}

const VARIED: KillPoint[] = [
  { after: 'forwarded', ms: 0 },
  { after: 'forwarded', ms: 2 },
  { after: 'forwarded', ms: 5 },
  { after: 'forwarded', ms: 15 },
  { after: 'answered' },
  { after: 'answered' },
];
const ANSWERED: KillPoint[] = [{ after: 'answered' }, { after: 'answered' }, { after: 'answered' }];

describe('the IdP killed with SIGKILL mid-refresh, SQLite store', () => {
  test(`${VARIED.length} sessions, a kill at each one's first renewal (varied points): no logout, no revoked grant, no 5xx`, async () => {
    const { tally, revoked } = await killRun(30, VARIED);
    expect(tally.notes).toEqual([]);
    expect(harm(tally, revoked)).toEqual(NO_HARM);
    expect(tally.slowestMs).toBeLessThanOrEqual(IDP_TIMEOUT_MS + 1_000);
    expect(tally.renewals).toBeGreaterThanOrEqual(VARIED.length * 4);
  }, 60_000);

  test('failure mode, grace 0: killed after the IdP answered, the retry is a reuse and each session is logged out', async () => {
    const { tally, revoked } = await killRun(0, ANSWERED);
    expect(tally.logouts).toBe(ANSWERED.length);
    expect(revoked).toBe(ANSWERED.length);
  }, 60_000);
});
