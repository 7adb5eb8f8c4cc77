/**
 * `npm run soak [-- --sessions 200 --minutes 5]`: the IdP (SQLite store, temporary directory) and the app as child
 * processes on loopback ports with one-minute tokens. Each simulated browser signs in once, then keeps requesting pages
 * a few seconds apart, sometimes in parallel bursts with the same cookie, storing Set-Cookie as a browser does, and at the
 * end signs out at the app and the IdP: the cookie it held before must then be anonymous (the IdP's back-channel logout).
 * Stops by itself. The last line is a summary for scripts; the exit code is 1 if a live cookie was ever answered as
 * anonymous (a spurious logout), on any 5xx or transport error, or if a signed-out cookie still worked.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from '../common/errors.js';
import { type Browser, createBrowser } from '../test/helpers/sign-in.js';
import { forkService } from './fork-service.js';
import type { Memory, SoakUrls } from './soak-server.js';

const SERVER = fileURLToPath(new URL('./soak-server.ts', import.meta.url));
/** Sign-ins are spread over this long, so the IdP is not hit by every browser at once. */
const RAMP_MS = 10_000;
const PAUSE_MS = { min: 1_000, max: 6_000 };
const BURST = { probability: 0.15, max: 6 };
const PATHS = ['/about', '/about', '/about', '/'];

function readOptions(args: string[]) {
  let values: { sessions: string; minutes: string };
  try {
    ({ values } = parseArgs({ args, options: { sessions: { type: 'string', default: '200' }, minutes: { type: 'string', default: '5' } }, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const sessions = Number(values.sessions);
  const minutes = Number(values.minutes);
  if (!Number.isInteger(sessions) || sessions < 1) throw new UsageError('--sessions must be a positive integer');
  if (!(minutes > 0)) throw new UsageError('--minutes must be a positive number');
  return { sessions, minutes };
}

// ------------------------------------------------------------------------------------------------
// Server processes

const startChild = (kind: 'idp' | 'app') => forkService(SERVER, [kind], { ready: 'port', execArgv: ['--expose-gc'] });

// ------------------------------------------------------------------------------------------------
// Browsers

interface Stats {
  requests: number;
  renewals: number;
  /** Anonymous answers to a cookie the browser still held as live. */
  logouts: number;
  serverErrors: number;
  /** Transport failures: refused connections, resets, timeouts. */
  errors: number;
  signIns: number;
  signOuts: number;
  /** A cookie copied before sign-out still signed in after it: the back channel did not reach the app. */
  stillSignedIn: number;
  /** Sign-ins again after the browser's own cookie expired (requests too far apart): not failures, but not expected. */
  expired: number;
  latencies: number[];
  notes: string[];
}

const random = (min: number, max: number) => min + Math.random() * (max - min);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function note(stats: Stats, message: string) {
  if (stats.notes.length < 20) stats.notes.push(message);
}

/** The auth cookie value a response sets, '' when it clears it. */
function authCookieSet(res: Response): string | undefined {
  const line = res.headers.getSetCookie().find((candidate) => candidate.startsWith('auth='));
  return line?.slice('auth='.length).split(';')[0];
}

async function visit(browser: Browser, appUrl: string, path: string, seen: Set<string>, stats: Stats) {
  const url = new URL(path, appUrl);
  const sent = browser.cookie(url, 'auth');
  const started = performance.now();
  let res: Response;
  let body: string;
  try {
    res = await browser.fetch(url);
    body = await res.text();
  } catch (error) {
    stats.errors += 1;
    note(stats, `${path}: ${(error as Error).message}`);
    return;
  }
  stats.latencies.push(performance.now() - started);
  stats.requests += 1;
  if (res.status >= 500) {
    stats.serverErrors += 1;
    note(stats, `${path}: ${res.status}`);
  }
  const set = authCookieSet(res);
  if (set && !seen.has(set)) {
    seen.add(set);
    stats.renewals += 1;
  }
  const anonymous = path === '/about' ? res.status === 302 && res.headers.get('location')?.startsWith('/login') : body.includes('You are not signed in');
  if (anonymous && sent) {
    stats.logouts += 1;
    note(stats, `${path}: anonymous with a cookie live until ${new Date(sent.expires ?? 0).toISOString()}`);
  }
}

async function browse(appUrl: string, deadline: number, stats: Stats) {
  await sleep(random(0, RAMP_MS));
  const browser = createBrowser();
  const seen = new Set<string>();
  const signIn = async () => {
    await browser.signIn(appUrl);
    seen.add(browser.cookie(new URL(appUrl), 'auth')?.value ?? '');
    stats.signIns += 1;
  };
  try {
    await signIn();
  } catch (error) {
    stats.errors += 1;
    note(stats, `sign-in: ${(error as Error).message}`);
    return;
  }
  while (Date.now() < deadline) {
    await sleep(random(PAUSE_MS.min, PAUSE_MS.max));
    if (!browser.cookie(new URL(appUrl), 'auth')) {
      stats.expired += 1;
      await signIn().catch((error: unknown) => void (stats.errors += 1, note(stats, `sign-in again: ${(error as Error).message}`)));
      continue;
    }
    const parallel = Math.random() < BURST.probability ? 2 + Math.floor(Math.random() * (BURST.max - 1)) : 1;
    const path = PATHS[Math.floor(Math.random() * PATHS.length)]!;
    await Promise.all(Array.from({ length: parallel }, () => visit(browser, appUrl, path, seen, stats)));
  }
  await signOut(browser, appUrl, stats);
}

async function signOut(browser: Browser, appUrl: string, stats: Stats) {
  const copy = browser.cookie(new URL(appUrl), 'auth');
  try {
    await browser.signOut(appUrl);
    stats.signOuts += 1;
    if (!copy) return;
    const replay = await fetch(new URL('/about', appUrl), { redirect: 'manual', headers: { cookie: `auth=${copy.value}` } });
    await replay.arrayBuffer();
    if (replay.status !== 302) {
      stats.stillSignedIn += 1;
      note(stats, `a signed-out cookie still answered ${replay.status}`);
    }
  } catch (error) {
    stats.errors += 1;
    note(stats, `sign-out: ${(error as Error).message}`);
  }
}

// ------------------------------------------------------------------------------------------------

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const mb = (start: Memory, end: Memory, field: keyof Memory) => `${start[field].toFixed(0)}→${end[field].toFixed(0)}`;

async function main() {
  const { sessions, minutes } = readOptions(process.argv.slice(2));
  // A watchdog, so the soak always ends; the servers exit when this process goes away.
  setTimeout(() => {
    console.error('soak: time limit reached, giving up');
    process.exit(2);
  }, minutes * 60_000 + 3 * 60_000).unref();

  const idp = await startChild('idp');
  const app = await startChild('app');
  const urls: SoakUrls = { idpUrl: `http://127.0.0.1:${idp.port}`, appUrl: `http://127.0.0.1:${app.port}` };
  await idp.call('start', urls);
  await app.call('start', urls);
  const memoryStart = { app: await app.call<Memory>('memory'), idp: await idp.call<Memory>('memory') };
  console.log(`soak: ${sessions} sessions for ${minutes} min; IdP ${urls.idpUrl} (SQLite), app ${urls.appUrl}, 60 s tokens`);

  const stats: Stats = { requests: 0, renewals: 0, logouts: 0, serverErrors: 0, errors: 0, signIns: 0, signOuts: 0, stillSignedIn: 0, expired: 0, latencies: [], notes: [] };
  const started = Date.now();
  const progress = setInterval(async () => {
    const [appNow, idpNow] = [await app.call<Memory>('memory'), await idp.call<Memory>('memory')];
    const memory = (m: Memory) => `rss ${m.rssMb.toFixed(0)} heap ${m.heapMb.toFixed(0)} ext ${m.externalMb.toFixed(0)}`;
    console.log(
      `  ${((Date.now() - started) / 60_000).toFixed(1)} min: requests=${stats.requests} renewals=${stats.renewals} logouts=${stats.logouts} 5xx=${stats.serverErrors} errors=${stats.errors};` +
        ` app ${memory(appNow)} MB, idp ${memory(idpNow)} MB`,
    );
  }, 30_000);
  await Promise.all(Array.from({ length: sessions }, () => browse(urls.appUrl, started + minutes * 60_000, stats)));
  clearInterval(progress);

  const memoryEnd = { app: await app.call<Memory>('memory'), idp: await idp.call<Memory>('memory') };
  await Promise.all([app.stop(), idp.stop()]);
  for (const message of stats.notes) console.log(`  ! ${message}`);
  console.log(`  sign-ins ${stats.signIns}, sign-outs ${stats.signOuts} (still signed in after: ${stats.stillSignedIn}), re-sign-ins after expiry ${stats.expired}; latency p50 ${percentile(stats.latencies, 50).toFixed(1)} ms, p99 ${percentile(stats.latencies, 99).toFixed(1)} ms`);
  console.log(
    `soak: sessions=${sessions} minutes=${minutes} requests=${stats.requests} renewals=${stats.renewals} logouts=${stats.logouts} 5xx=${stats.serverErrors} errors=${stats.errors}` +
      ` signouts=${stats.signOuts} still_signed_in=${stats.stillSignedIn} p99_ms=${percentile(stats.latencies, 99).toFixed(0)} app_rss_mb=${mb(memoryStart.app, memoryEnd.app, 'rssMb')} app_heap_mb=${mb(memoryStart.app, memoryEnd.app, 'heapMb')}` +
      ` idp_rss_mb=${mb(memoryStart.idp, memoryEnd.idp, 'rssMb')} idp_heap_mb=${mb(memoryStart.idp, memoryEnd.idp, 'heapMb')}`,
  );
  process.exit(stats.logouts + stats.serverErrors + stats.errors + stats.stillSignedIn > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? `${error.message}\nusage: npm run soak -- [--sessions N] [--minutes M]` : error);
  process.exit(1);
});
