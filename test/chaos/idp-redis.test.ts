import { afterEach, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { type SetCookie, authCookieOf, signIn, startTestApp, testClock } from '../helpers/app.js';
import { recordingLogger } from '../helpers/chaos.js';
import { type TestIdp, startTestIdp } from '../helpers/idp.js';
import { type TestRedisServer, redisServerInstalled, startRedisServer } from '../helpers/redis-server.js';

/** The IdP's token store on a Redis the test owns: restarted, killed and paused under signed-in users. */
const installed = redisServerInstalled('IdP-on-Redis fault tests');
const suite = installed ? describe : describe.skip;

const SESSIONS = 10;
const IDP_TIMEOUT_MS = 2000;
const PERSISTENT = ['--appendonly', 'yes', '--appendfsync', 'always'];

interface Tally {
  logouts: number;
  fiveHundreds: number;
  slowestMs: number;
}

suite('the IdP on Redis, under Redis faults', () => {
  let redis: TestRedisServer | undefined;
  let idp: TestIdp | undefined;
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    await idp?.close();
    await redis?.stop();
  });

  async function stack(args: string[]) {
    redis = await startRedisServer({ args });
    const log = recordingLogger();
    idp = await startTestIdp({ store: 'redis', redisUrl: redis.url, redisPrefix: 'idp:', redisAllowVolatile: true, redisCommandTimeoutMs: 300, deps: { logger: log.logger } });
    const clock = testClock();
    const bff = await startTestApp(idp, { clock, config: { idpTimeoutMs: IDP_TIMEOUT_MS } });
    close = bff.close;
    const cookies: SetCookie[] = [];
    for (let i = 0; i < SESSIONS; i++) cookies.push((await signIn(bff.app)).cookie);
    const tally: Tally = { logouts: 0, fiveHundreds: 0, slowestMs: 0 };
    /** Every session once; a renewed cookie replaces the old one, as a browser would. */
    const visitAll = async () => {
      await Promise.all(
        cookies.map(async (cookie, i) => {
          const started = performance.now();
          const res = await request(bff.app).get('/about').set('Cookie', cookie.pair);
          tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
          if (res.status >= 500) tally.fiveHundreds++;
          else if (res.status !== 200) tally.logouts++;
          const renewed = authCookieOf(res);
          if (renewed?.value) cookies[i] = renewed;
        }),
      );
    };
    /** Until the IdP's Redis client has reconnected (real time, bounded): commands fail fast while it is away. */
    const reconnected = async () => {
      for (let tries = 0; tries < 100; tries++) {
        if (await idp!.idp.store.get('probe').then(() => true, () => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the IdP did not reconnect to Redis within 10 s');
    };
    const signedIn = new Set(cookies.map((cookie) => cookie.value));
    /** Sessions whose cookie was renewed since sign-in: the faults must not have stopped renewal for good. */
    const renewed = () => cookies.filter((cookie) => !signedIn.has(cookie.value)).length;
    return { clock, visitAll, tally, revoked: log.revoked, redis: redis!, reconnected, renewed };
  }

  test('a persistent Redis killed and restarted between renewals: nobody signs in again', async () => {
    const { clock, visitAll, tally, revoked, redis, reconnected, renewed } = await stack(PERSISTENT);
    clock.advance(31_000);
    await visitAll(); // renewed
    await redis.kill();
    clock.advance(20_000);
    await visitAll(); // past half-life with Redis gone: served on the current tokens
    await redis.restart();
    await reconnected();
    clock.advance(5_000);
    await visitAll(); // renewed against the restored store
    clock.advance(31_000);
    await visitAll();
    console.log(`IdP Redis kill+restart (appendonly): logouts=${tally.logouts} revoked=${revoked()} 5xx=${tally.fiveHundreds} slowest_ms=${Math.round(tally.slowestMs)}`);
    expect(tally).toMatchObject({ logouts: 0, fiveHundreds: 0 });
    expect(revoked()).toBe(0);
    expect(renewed()).toBe(SESSIONS);
    expect(tally.slowestMs).toBeLessThanOrEqual(IDP_TIMEOUT_MS + 1000);
  });

  test('a paused Redis: refreshes fail fast instead of completing after the app gave up; nobody is logged out', async () => {
    const { clock, visitAll, tally, revoked, redis, reconnected, renewed } = await stack(PERSISTENT);
    clock.advance(31_000);
    redis.pause();
    await visitAll(); // each refresh times out at the IdP's Redis bound, well inside the app's
    redis.resume(); // whatever the paused Redis received now runs: consumed tokens without a recorded answer
    await reconnected();
    clock.advance(5_000);
    await visitAll();
    clock.advance(31_000);
    await visitAll();
    console.log(`IdP Redis paused: logouts=${tally.logouts} revoked=${revoked()} 5xx=${tally.fiveHundreds} slowest_ms=${Math.round(tally.slowestMs)}`);
    expect(tally).toMatchObject({ logouts: 0, fiveHundreds: 0 });
    expect(revoked()).toBe(0);
    expect(renewed()).toBe(SESSIONS);
    expect(tally.slowestMs).toBeLessThanOrEqual(IDP_TIMEOUT_MS + 1000);
  });

  test('failure mode: a Redis without persistence, restarted, signs every user out (why the IdP refuses one)', async () => {
    const { clock, visitAll, tally, redis, reconnected } = await stack([]);
    await redis.restart();
    await reconnected();
    clock.advance(31_000);
    await visitAll();
    console.log(`IdP Redis restarted empty: logouts=${tally.logouts} of ${SESSIONS}`);
    expect(tally.logouts).toBe(SESSIONS);
  });
});
