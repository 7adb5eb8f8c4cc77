import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import type { CustomFetch } from 'openid-client';
import request from 'supertest';
import { createLogger } from '../../common/log.js';
import { createMemoryRenewalStore } from '../../app/renewal/store-memory.js';
import type { LogoutStore } from '../../app/logout/store.js';
import { type RenewalStore, outcomeCodec } from '../../app/renewal/store.js';
import { type SetCookie, authCookieOf, openAuthCookie, signIn, startTestApp, testClock, type TestClock } from '../helpers/app.js';
import { CROWD_THROTTLE, recordingLogger } from '../helpers/chaos.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { type TestRedisServer, redisServerInstalled, startRedisServer } from '../helpers/redis-server.js';

const IDP_TIMEOUT_MS = 2_000;
/** The promise: no request held longer than this. */
const SLOWEST_ALLOWED_MS = IDP_TIMEOUT_MS + 1_000;
const SESSIONS = 8;
const STEP_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a user would notice, and what the IdP handed out that never reached a cookie. */
interface Tally {
  requests: number;
  logouts: number;
  serverErrors: number;
  slowestMs: number;
  /** Refresh tokens in the IdP's answers to the app. */
  issued: Set<string>;
  /** Refresh tokens in auth cookies the browsers received. */
  delivered: Set<string>;
}

const newTally = (): Tally => ({ requests: 0, logouts: 0, serverErrors: 0, slowestMs: 0, issued: new Set(), delivered: new Set() });
const lostTokens = (tally: Tally) => [...tally.issued].filter((token) => !tally.delivered.has(token)).length;
const line = (tally: Tally, revoked: number) =>
  `requests=${tally.requests} logouts=${tally.logouts} 5xx=${tally.serverErrors} slowest_ms=${Math.round(tally.slowestMs)} issued=${tally.issued.size} lost_tokens=${lostTokens(tally)} revoked=${revoked}`;

const refreshTokenOf = (cookie: SetCookie) => openAuthCookie(cookie.value)!.refreshToken!;

/** The app's fetch to the IdP: records the refresh tokens it answers with, and runs `onRefresh` (once) as a refresh goes out. */
function watchedFetch(tally: Tally) {
  let onRefresh: (() => Promise<void> | void) | undefined;
  const fetchFn: CustomFetch = async (url, options) => {
    if (String(options.body).includes('grant_type=refresh_token') && onRefresh) {
      const run = onRefresh;
      onRefresh = undefined;
      await run();
    }
    const res = await fetch(url, options as RequestInit);
    if (new URL(url).pathname.endsWith('/token') && res.ok) {
      const { refresh_token: token } = (await res.clone().json()) as { refresh_token?: string };
      if (token) tally.issued.add(token);
    }
    return res;
  };
  return { fetch: fetchFn, atNextRefresh: (action: () => Promise<void> | void) => void (onRefresh = action) };
}

/** GET /about with a cookie, timed and judged: a signed-in cookie that comes back anonymous is a logout. */
async function visit(app: Express, cookie: SetCookie, tally: Tally): Promise<SetCookie | undefined> {
  const started = performance.now();
  const res = await request(app).get('/about').set('Cookie', cookie.pair);
  tally.requests += 1;
  tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
  if (res.status >= 500) tally.serverErrors += 1;
  else if (res.status !== 200) tally.logouts += 1;
  const renewed = authCookieOf(res);
  if (!renewed?.value) return undefined;
  tally.delivered.add(refreshTokenOf(renewed));
  return renewed;
}

/** App log lines by message, to count outage warnings. */
function recordingAppLogger() {
  const lines: { msg: string }[] = [];
  return { logger: createLogger('app', 'info', (text) => void lines.push(JSON.parse(text) as { msg: string })), count: (msg: string) => lines.filter((entry) => entry.msg === msg).length };
}

interface Setup {
  server: TestRedisServer;
  idp: TestIdp;
  revoked(): number;
  clock: TestClock;
  tally: Tally;
  watched: ReturnType<typeof watchedFetch>;
  close(): Promise<void>;
}

/** A private redis-server, the IdP (revocations counted), and a clock; instances are started by each test. */
async function setUp(graceS?: number): Promise<Setup> {
  const server = await startRedisServer();
  const log = recordingLogger();
  const idp = await startTestIdp({ ...(graceS === undefined ? {} : { refreshReuseGraceS: graceS }), deps: { logger: log.logger, throttle: CROWD_THROTTLE } });
  const tally = newTally();
  return {
    server,
    idp,
    revoked: log.revoked,
    clock: testClock(),
    tally,
    watched: watchedFetch(tally),
    async close() {
      await idp.close();
      await server.stop();
    },
  };
}

const withServer = redisServerInstalled('the Redis chaos suite') ? describe : describe.skip;

withServer('chaos: Redis killed, restarted empty and hung under two app instances', () => {
  let setup: Setup;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    setup = await setUp();
  });
  afterEach(async () => {
    setup.server.resume();
    for (const close of closers.splice(0)) await close();
    await setup.close();
  });

  /** An app instance on the private Redis, the injected clock and the watched fetch; `deps` replaces stores (protection off). */
  const startInstance = async (deps: { renewalStore?: RenewalStore; logouts?: LogoutStore } = {}) => {
    const log = recordingAppLogger();
    const instance = await startTestApp(setup.idp, {
      clock: setup.clock,
      // Stale cookies arrive one step after their renewal here: keep answering them a little past that.
      config: { redisUrl: setup.server.url, idpTimeoutMs: IDP_TIMEOUT_MS, staleCookieGraceMs: STEP_MS + 1_000 },
      deps: { fetch: setup.watched.fetch, logger: log.logger, ...deps },
    });
    closers.push(instance.close);
    return { app: instance.app, log };
  };

  const [DOWN, BACK] = ['redis unavailable: renewals and logout records stay in this instance until it is back', 'redis is back: renewals and logout records are shared again'];
  /** Longest a hang is let run before the suite resumes Redis itself: past the allowed time, so a hang shows. */
  const HANG_CAP_MS = SLOWEST_ALLOWED_MS + 500;

  /**
   * SESSIONS sessions over two instances for 160 s of app time. Each round (10 s) a session sends two parallel requests
   * to one instance and its previous cookie, late, to the instance that did not renew it. 60-s tokens renew at rounds
   * 3, 6, 9, 12 and 15: Redis is killed as the first refresh of round 3 goes out, restarted empty at rounds 5 and 7
   * (between renewals and their stale cookies), hung as the first refresh of round 9 goes out, resumed at round 11.
   */
  async function mixedRun(renewals?: () => RenewalStore) {
    const { server, clock, tally, watched, idp } = setup;
    const instances = [await startInstance({ renewalStore: renewals?.() }), await startInstance({ renewalStore: renewals?.() })];
    const sessions = await Promise.all(
      Array.from({ length: SESSIONS }, async (_, index) => {
        const { cookie } = await signIn(instances[index % 2]!.app);
        tally.delivered.add(refreshTokenOf(cookie));
        return { index, current: cookie, renewedOn: index % 2, stale: undefined as SetCookie | undefined };
      }),
    );
    let cap: ReturnType<typeof setTimeout> | undefined;
    const resume = () => {
      clearTimeout(cap);
      server.resume();
    };
    const hang = () => {
      server.pause();
      cap = setTimeout(resume, HANG_CAP_MS);
    };
    // Both instances connected again (bounded wait): so the next fault hits connections in use, not ones still retrying.
    const reconnected = async () => {
      for (let i = 0; i < 50 && !instances.every(({ log }) => log.count(BACK) === log.count(DOWN)); i++) await sleep(100);
    };
    const atRefresh: Record<number, () => Promise<void> | void> = { 3: () => server.kill(), 9: hang };
    const before: Record<number, () => Promise<void> | void> = {
      5: async () => {
        await server.restart();
        await reconnected();
      },
      7: () => server.restart(),
      9: reconnected,
      11: resume,
      15: reconnected,
    };
    let lastRenewalRefreshes = 0;
    for (let round = 1; round <= 16; round++) {
      clock.advance(STEP_MS);
      await before[round]?.();
      if (atRefresh[round]) watched.atNextRefresh(atRefresh[round]!);
      if (round === 15) lastRenewalRefreshes = idp.refreshCalls();
      await Promise.all(
        sessions.map(async (session) => {
          const home = (session.index + round) % 2;
          const stale = session.stale;
          session.stale = undefined;
          const answers = await Promise.all([
            visit(instances[home]!.app, session.current, tally),
            visit(instances[home]!.app, session.current, tally),
            stale && visit(instances[1 - session.renewedOn]!.app, stale, tally),
          ]);
          const held = refreshTokenOf(session.current);
          const renewed = answers.slice(0, 2).find((answer) => answer && refreshTokenOf(answer) !== held);
          if (renewed) [session.stale, session.current, session.renewedOn] = [session.current, renewed, home];
        }),
      );
    }
    resume();
    return {
      tally,
      revoked: setup.revoked(),
      warnings: instances.map(({ log }) => log.count(DOWN)),
      lastRenewalRefreshes: idp.refreshCalls() - lastRenewalRefreshes,
    };
  }

  test(`${SESSIONS} sessions, renewals, stale cookies on the other instance: no logout, no 5xx, no token lost, nobody held past the IdP timeout`, async () => {
    const run = await mixedRun();
    console.log(`chaos redis, ${SESSIONS} sessions on 2 instances: ${line(run.tally, run.revoked)} outage_warnings=${run.warnings.join('+')}`);
    const { tally } = run;
    expect({ logouts: tally.logouts, serverErrors: tally.serverErrors, lost: lostTokens(tally), revoked: run.revoked }).toEqual({ logouts: 0, serverErrors: 0, lost: 0, revoked: 0 });
    expect(tally.slowestMs).toBeLessThanOrEqual(SLOWEST_ALLOWED_MS);
    // Every session renewed five times: sign-in plus five refresh tokens each.
    expect(tally.delivered.size).toBeGreaterThanOrEqual(SESSIONS * 6);
    // Once per outage on each instance, not once per request: killed, restarted empty, hung.
    expect(run.warnings).toEqual([3, 3]);
    // Redis back: one refresh per session for the last renewal, its stale cookies on the other instance answered from Redis.
    expect(run.lastRenewalRefreshes).toBe(SESSIONS);
  });

  /** The old order, protection off: refresh, store the outcome on a client without a command timeout, only then answer. */
  const storeThenAnswer = (): RenewalStore => {
    const redis = new Redis(setup.server.url, { maxRetriesPerRequest: 2 });
    redis.on('error', () => {});
    const local = createMemoryRenewalStore(setup.clock.now);
    return {
      renew: (token, validUntil, refresh) =>
        local.renew(token, validUntil, async () => {
          const outcome = await refresh();
          const codec = outcomeCodec(token);
          await redis.set(`chaos:outcome:${codec.id}`, codec.seal({ outcome, at: Date.now() }), 'PX', 60_000);
          return outcome;
        }),
      async close() {
        redis.disconnect();
        await local.close();
      },
    };
  };

  test('failure mode: the same run with a store that stores before answering, on a client without a command timeout, holds requests and logs users out', async () => {
    const run = await mixedRun(storeThenAnswer);
    console.log(`failure mode, chaos redis with the old store: ${line(run.tally, run.revoked)}`);
    expect(run.tally.slowestMs).toBeGreaterThan(SLOWEST_ALLOWED_MS);
    // Renewals thrown away while Redis was down, retried and thrown away again, until the cookies expired.
    expect(run.tally.logouts).toBeGreaterThan(0);
  });

  /** One session on one instance: past half-life, Redis killed as the refresh goes out, then the next request. */
  async function killDuringRenewal(deps: { renewalStore?: RenewalStore } = {}) {
    const { server, clock, tally, watched } = setup;
    const { app } = await startInstance(deps);
    const { cookie } = await signIn(app);
    tally.delivered.add(refreshTokenOf(cookie));
    clock.advance(31_000);
    watched.atNextRefresh(() => server.kill());
    const renewed = await visit(app, cookie, tally);
    await server.restart();
    clock.advance(5_000);
    await visit(app, renewed ?? cookie, tally);
    return { renewed: Boolean(renewed), lost: lostTokens(tally), logouts: tally.logouts, revoked: setup.revoked() };
  }

  test('Redis killed while a renewal is in flight: the new tokens reach the cookie (even with no IdP grace)', async () => {
    await setup.close();
    setup = await setUp(0);
    expect(await killDuringRenewal()).toEqual({ renewed: true, lost: 0, logouts: 0, revoked: 0 });
  });

  test('failure mode: a store that stores the outcome before answering loses the new tokens; without IdP grace the user is logged out', async () => {
    await setup.close();
    setup = await setUp(0);
    const run = await killDuringRenewal({ renewalStore: storeThenAnswer() });
    console.log(`failure mode, store before answering: ${JSON.stringify(run)}`);
    expect(run).toEqual({ renewed: false, lost: 1, logouts: 1, revoked: 1 });
  });

  /** One signed-in request while Redis is hung for `pauseMs`. */
  async function requestWhileHung(deps: { logouts?: LogoutStore } = {}, pauseMs = SLOWEST_ALLOWED_MS + 500) {
    const { server, tally } = setup;
    const { app } = await startInstance(deps);
    const { cookie } = await signIn(app);
    await sleep(100);
    server.pause();
    const resume = setTimeout(() => server.resume(), pauseMs);
    await visit(app, cookie, tally);
    clearTimeout(resume);
    server.resume();
    return tally;
  }

  test('Redis hung: a signed-in request is answered at once (the logout check reads memory)', async () => {
    const tally = await requestWhileHung();
    expect(tally.logouts + tally.serverErrors).toBe(0);
    expect(tally.slowestMs).toBeLessThan(500);
  });

  test('failure mode: a per-request logout lookup on a Redis client without a command timeout holds the request until Redis answers', async () => {
    const redis = new Redis(setup.server.url, { maxRetriesPerRequest: 2 });
    redis.on('error', () => {});
    closers.push(async () => redis.disconnect());
    // The old store: every request reads Redis.
    const lookup: LogoutStore = {
      remember: async () => {},
      loggedOutAt: async (keys) => {
        const times = (await redis.mget(keys.map((key) => `chaos:logout:${key}`))).filter((value) => value !== null).map(Number);
        return times.length ? Math.max(...times) : undefined;
      },
      close: async () => {},
    };
    const tally = await requestWhileHung({ logouts: lookup });
    console.log(`failure mode, unbounded per-request lookup: held ${Math.round(tally.slowestMs)} ms`);
    expect(tally.slowestMs).toBeGreaterThan(SLOWEST_ALLOWED_MS);
  });
});
