/**
 * What the chaos suite and `npm run chaos` share: the app → fault proxy → IdP stack on loopback ports, browsers that
 * count what a user would notice, and the IdP's revocations read from its log. Jest-free.
 */
import { type Logger, createLogger } from '../../common/log.js';
import { startTestApp } from './app.js';
import { type FaultCounts, type FaultProxy, FAULT_KINDS, startFaultProxy } from './fault-proxy.js';
import { startTestIdp, type TestIdp } from './idp.js';
import { reserveServer } from './ports.js';
import { type Browser, createBrowser } from './sign-in.js';

/** Sign-in limits for a crowd of scripted browsers, all bob, all from one loopback address. */
export const CROWD_THROTTLE = {
  accountAddress: { points: 1_000_000, durationS: 600 },
  address: { points: 1_000_000, durationS: 600 },
  authorization: { points: 1_000_000, durationS: 600 },
};

/** A log line is a revocation when the IdP says so; `npm run idp` prints the same lines as JSON. */
export const isRevocation = (line: Record<string, unknown>) => line.msg === 'grant revoked';

/** The IdP's logger, keeping every line so revocations can be counted and shown. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[]; revoked(): number } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('idp', 'info', (line) => void lines.push(JSON.parse(line) as Record<string, unknown>));
  return { logger, lines, revoked: () => lines.filter(isRevocation).length };
}

export interface ChaosOptions {
  /** The app's clock (epoch ms): a test's movable clock, or Date.now. */
  now: () => number;
  /** The IdP's reuse grace window; 0 is the unprotected IdP. */
  graceS: number;
  /** APP_IDP_TIMEOUT_MS. */
  idpTimeoutMs: number;
  /** How long the proxy's `delay` holds an answer. */
  delayMs: number;
  /** Access, id and refresh token lifetime. */
  tokenTtlS: number;
}

export interface ChaosStack {
  appUrl: string;
  proxy: FaultProxy;
  idp: TestIdp;
  /** Grants the IdP revoked so far. */
  revoked(): number;
  idpLog: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The app (real HTTP, injected clock) → fault proxy → in-process IdP whose issuer is the proxy's address. */
export async function startChaosStack({ now, graceS, idpTimeoutMs, delayMs, tokenTtlS }: ChaosOptions): Promise<ChaosStack> {
  const proxy = await startFaultProxy({ delayMs });
  const appServer = await reserveServer();
  const log = recordingLogger();
  const idp = await startTestIdp({
    issuer: proxy.url,
    appBaseUrl: appServer.url,
    refreshReuseGraceS: graceS,
    ttl: { accessToken: tokenTtlS, idToken: tokenTtlS, refreshToken: tokenTtlS },
    // Every simulated browser signs in as bob from loopback, many at once: far above the sign-in limits.
    deps: { logger: log.logger, throttle: CROWD_THROTTLE },
  });
  proxy.target = idp.url;
  // CHAOS_DEBUG=1 prints the app's log, to see why a session was lost.
  const appLog = process.env.CHAOS_DEBUG ? { logger: createLogger('app', 'debug') } : {};
  const app = await startTestApp(idp, { deps: { now, ...appLog }, config: { issuer: new URL(proxy.url), baseUrl: new URL(appServer.url), idpTimeoutMs } });
  appServer.server.on('request', app.app);
  return {
    appUrl: appServer.url,
    proxy,
    idp,
    revoked: log.revoked,
    idpLog: log.lines,
    async close() {
      await appServer.close();
      await app.close();
      await proxy.close();
      await idp.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Browsers

export interface Tally {
  sessions: number;
  requests: number;
  /** New auth cookies received. */
  renewals: number;
  /** A browser holding a live auth cookie answered as anonymous, or its cookie gone before it expired. */
  logouts: number;
  serverErrors: number;
  transportErrors: number;
  slowestMs: number;
  notes: string[];
  /** Auth cookie values already counted: a burst's requests all carry the one renewal. */
  cookiesSeen: Set<string>;
}

export const newTally = (): Tally => ({ sessions: 0, requests: 0, renewals: 0, logouts: 0, serverErrors: 0, transportErrors: 0, slowestMs: 0, notes: [], cookiesSeen: new Set() });

/** Kept for the report, the first 20 only. */
export function note(tally: Tally, message: string) {
  if (tally.notes.length < 20) tally.notes.push(message);
}

/** A new browser signed in as bob through the app and the IdP's login form. */
export async function signedInBrowser(appUrl: string, now: () => number, tally: Tally): Promise<Browser> {
  const browser = createBrowser(now);
  await browser.signIn(appUrl);
  tally.sessions += 1;
  return browser;
}

/** GET /about as a signed-in browser, timed. False when the browser is no longer signed in (a spurious logout, counted). */
export async function visit(browser: Browser, appUrl: string, tally: Tally): Promise<boolean> {
  const url = new URL('/about', appUrl);
  const sent = browser.cookie(url, 'auth');
  if (!sent) {
    tally.logouts += 1;
    note(tally, 'auth cookie expired before it was renewed');
    return false;
  }
  const started = performance.now();
  let res: Response;
  try {
    res = await browser.fetch(url);
    await res.arrayBuffer();
  } catch (error) {
    tally.transportErrors += 1;
    note(tally, `transport error: ${(error as Error).message}`);
    return true;
  }
  tally.requests += 1;
  tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
  if (res.status >= 500) {
    tally.serverErrors += 1;
    note(tally, `answered ${res.status}`);
  }
  const held = browser.cookie(url, 'auth');
  if (held && held.value !== sent.value && !tally.cookiesSeen.has(held.value)) {
    tally.cookiesSeen.add(held.value);
    tally.renewals += 1;
  }
  if (!held || (res.status === 302 && res.headers.get('location')?.startsWith('/login'))) {
    tally.logouts += 1;
    note(tally, `signed out: ${res.status} ${res.headers.get('location') ?? ''}`);
    return false;
  }
  return true;
}

/** What a user or an operator would call harm; a run that kept its promises has all of it at zero. */
export const harm = (tally: Tally, revoked: number) => ({ logouts: tally.logouts, revoked, serverErrors: tally.serverErrors, transportErrors: tally.transportErrors });
export const NO_HARM = { logouts: 0, revoked: 0, serverErrors: 0, transportErrors: 0 };

/** Whether a run kept every promise: nobody logged out, no grant revoked, no 5xx, nobody held past the IdP timeout + 1 s. */
export function invariantsHeld(tally: Tally, revoked: number, idpTimeoutMs: number): boolean {
  return tally.logouts === 0 && revoked === 0 && tally.serverErrors === 0 && tally.transportErrors === 0 && tally.slowestMs <= idpTimeoutMs + 1_000;
}

/** The counts as one line of `key=value`s. */
export function summary(tally: Tally, counts: FaultCounts, revoked: number): string {
  const faults = FAULT_KINDS.reduce((sum, kind) => sum + counts.faults[kind], 0);
  const byKind = FAULT_KINDS.map((kind) => `${kind}=${counts.faults[kind]}`).join(' ');
  return (
    `sessions=${tally.sessions} requests=${tally.requests} renewals=${tally.renewals} refreshes=${counts.refreshes} faults=${faults} ${byKind}` +
    ` logouts=${tally.logouts} revoked=${revoked} 5xx=${tally.serverErrors} transport_errors=${tally.transportErrors} slowest_ms=${Math.round(tally.slowestMs)}`
  );
}
