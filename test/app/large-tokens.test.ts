import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { Redis } from 'ioredis';
import request, { type Response } from 'supertest';
import type { Express } from 'express';
import { createLogger } from '../../common/log.js';
import { chunkName, joinValue } from '../../app/cookie/chunks.js';
import { createMemoryRenewalStore } from '../../app/renewal/store-memory.js';
import { createRedisRenewalStore } from '../../app/renewal/store-redis.js';
import type { RenewalStore } from '../../app/renewal/store.js';
import { MAX_COOKIE_BYTES } from '../../app/cookie/auth-cookie.js';
import { type TestClock, openAuthCookie, setCookies, startTestApp, testClock } from '../helpers/app.js';
import { type TestIdp, editBobClaims, restoreAccounts, startTestIdp } from '../helpers/idp.js';
import { deleteRedisKeys, redisReachable } from '../helpers/redis.js';
import { signInAtIdp } from '../helpers/sign-in.js';

/**
 * Tokens of a real size from our own IdP: JWT access tokens and an account whose name is 2,600 characters (as a long
 * name or group list would be), through sign-in, renewal, a stale-cookie replay and logout, with a browser-like jar.
 */

const LONG_NAME = 'N'.repeat(2600);
const setName = (idp: TestIdp, name: string) => editBobClaims(idp, { name });

const redisUrl = process.env.REDIS_URL;
const redisUp = await redisReachable(redisUrl);
if (!redisUp) console.warn('SKIPPED: the Redis renewal store case of the large-token tests needs Redis (REDIS_URL)');

/** What a browser keeps of our responses: cookies by name, each Set-Cookie line checked against the per-cookie limit. */
function cookieJar() {
  const cookies = new Map<string, string>();
  return {
    cookies,
    /** Applies a response's Set-Cookie lines; returns them. */
    take(res: Response) {
      const lines = (res.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
      for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThan(MAX_COOKIE_BYTES);
      for (const { name, value, attributes } of setCookies(res)) {
        if (attributes['max-age'] === '0') cookies.delete(name);
        else cookies.set(name, value);
      }
      return setCookies(res);
    },
    header: () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
    authNames: () => [...cookies.keys()].filter((name) => /^auth(\.\d+)?$/.test(name)),
  };
}
type Jar = ReturnType<typeof cookieJar>;

/** The session the jar's auth chunks hold. */
function sessionIn(jar: Jar) {
  const first = jar.cookies.get('auth');
  const value = first && joinValue(first, (index) => jar.cookies.get(chunkName('auth', index)));
  return value ? openAuthCookie(value) : undefined;
}

async function signInto(app: Express, jar: Jar) {
  const start = await request(app).get('/login?returnTo=%2Fabout');
  jar.take(start);
  const { redirect: callback } = await signInAtIdp(start.headers.location!);
  const done = await request(app).get(callback.pathname + callback.search).set('Cookie', jar.header());
  jar.take(done);
  return done;
}

const get = async (app: Express, jar: Jar, path = '/about', cookie = jar.header()) => {
  const res = await request(app).get(path).set('Cookie', cookie);
  jar.take(res);
  return res;
};

describe('large tokens: JWT access tokens and a 2,600-character name', () => {
  let idp: TestIdp;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    idp = await startTestIdp({ accessTokenFormat: 'jwt' });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await restoreAccounts(idp);
  });
  afterAll(async () => {
    await idp.close();
  });

  const lines: string[] = [];
  const bff = async (clock: TestClock, options: { renewalStore?: RenewalStore; cookieMaxBytes?: number } = {}) => {
    lines.length = 0;
    const started = await startTestApp(idp, {
      clock,
      config: options.cookieMaxBytes ? { cookieMaxBytes: options.cookieMaxBytes } : {},
      deps: { renewalStore: options.renewalStore, logger: createLogger('app', 'info', (line) => lines.push(line)) },
    });
    closers.push(started.close);
    return started.app;
  };

  const stores: [string, (clock: TestClock) => Promise<RenewalStore>][] = [
    ['memory', async (clock) => createMemoryRenewalStore(clock.now)],
    ...(redisUp
      ? [['Redis', async (clock: TestClock) => {
          const redis = new Redis(redisUrl!);
          const prefix = `test:large:${process.pid}:${Date.now()}:`;
          closers.push(async () => {
            redis.disconnect();
            await deleteRedisKeys(redisUrl!, prefix);
          });
          return createRedisRenewalStore(redis, { lockTtlMs: 5000, now: clock.now, prefix });
        }] as [string, (clock: TestClock) => Promise<RenewalStore>]]
      : []),
  ];

  test.each(stores)('%s renewal store: sign-in, renewal past half-life, stale-cookie replay, logout — every cookie < 4,096 bytes, none left', async (_store, renewals) => {
    await setName(idp, LONG_NAME);
    const clock = testClock();
    const app = await bff(clock, { renewalStore: await renewals(clock) });
    const jar = cookieJar();

    const done = await signInto(app, jar);
    expect(done.status).toBe(302);
    expect(jar.authNames()).toEqual(['auth', 'auth.1']);
    const signedIn = sessionIn(jar)!;
    expect(signedIn.claims.name).toBe(LONG_NAME);
    expect(signedIn.accessToken.split('.')).toHaveLength(3);
    const page = await get(app, jar);
    expect(page.status).toBe(200);
    expect(page.text).toContain(LONG_NAME);
    expect(page.headers['set-cookie']).toBeUndefined();

    const stale = jar.header();
    clock.advance(31_000);
    const renewing = await get(app, jar);
    expect(renewing.status).toBe(200);
    expect(setCookies(renewing).map(({ name }) => name)).toEqual(['auth', 'auth.1']);
    const renewed = sessionIn(jar)!;
    expect(renewed).toMatchObject({ renewals: 1, claims: { name: LONG_NAME } });
    expect(renewed.refreshToken).not.toBe(signedIn.refreshToken);

    // The old cookie again, as a request sent before the renewal landed: the stored outcome, no second IdP call.
    clock.advance(2_000);
    const refreshes = idp.refreshCalls();
    const replayJar = cookieJar();
    const replay = await get(app, replayJar, '/about', stale);
    expect(replay.status).toBe(200);
    expect(idp.refreshCalls()).toBe(refreshes);
    expect(sessionIn(replayJar)).toMatchObject({ renewals: 1, refreshToken: renewed.refreshToken });

    const loggedOut = await request(app).post('/logout').set('Cookie', jar.header()).set('Origin', 'http://localhost:3000');
    expect(loggedOut.status).toBe(303);
    expect(jar.take(loggedOut).map(({ name, attributes }) => [name, attributes['max-age']])).toEqual([['auth', '0'], ['auth.1', '0']]);
    expect(jar.authNames()).toEqual([]);
  });

  test('a session that shrinks drops its extra chunk in the same response', async () => {
    await setName(idp, 'N'.repeat(5000));
    const clock = testClock();
    const app = await bff(clock);
    const jar = cookieJar();
    await signInto(app, jar);
    expect(jar.authNames()).toEqual(['auth', 'auth.1', 'auth.2']);
    await setName(idp, 'Bob Smith');
    clock.advance(31_000);
    const renewing = await get(app, jar);
    expect(renewing.status).toBe(200);
    expect(setCookies(renewing).map(({ name, attributes }) => [name, attributes['max-age']])).toEqual([['auth', '60'], ['auth.1', '0'], ['auth.2', '0']]);
    expect(jar.authNames()).toEqual(['auth']);
    expect(sessionIn(jar)).toMatchObject({ renewals: 1, claims: { name: 'Bob Smith' } });
  });

  test('beyond APP_COOKIE_MAX_BYTES: sign-in fails with a page saying so (502) and a log line with the sizes', async () => {
    await setName(idp, LONG_NAME);
    const app = await bff(testClock(), { cookieMaxBytes: 4096 });
    const jar = cookieJar();
    const done = await signInto(app, jar);
    expect(done.status).toBe(502);
    expect(done.text).toContain('Sign-in tokens too large');
    expect(done.text).toContain('APP_COOKIE_MAX_BYTES');
    expect(jar.authNames()).toEqual([]);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'sign-in failed: tokens too large for the auth cookie');
    expect(logged).toMatchObject({ level: 'warn', maxBytes: 4096, accessBytes: expect.any(Number), refreshBytes: 43 });
    expect(logged!.bytes as number).toBeGreaterThan(4096);
    expect(logged!.idBytes as number).toBeGreaterThan(3500);
  });

  test('a renewal that would exceed the ceiling keeps the current cookie (no 5xx, no Set-Cookie) and logs', async () => {
    await setName(idp, 'Bob Smith');
    const clock = testClock();
    const app = await bff(clock, { cookieMaxBytes: 4096 });
    const jar = cookieJar();
    await signInto(app, jar);
    const before = jar.header();
    await setName(idp, LONG_NAME);
    clock.advance(31_000);
    const res = await get(app, jar);
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(jar.header()).toBe(before);
    expect(sessionIn(jar)).toMatchObject({ renewals: 0, claims: { name: 'Bob Smith' } });
    const logged = lines.map((line) => JSON.parse(line) as { msg: string; error?: { name: string; message: string } }).find((line) => line.msg === 'renewal failed');
    expect(logged?.error).toMatchObject({ name: 'TokensTooLargeError', message: expect.stringContaining('the limit is 4096') });
  });
});
