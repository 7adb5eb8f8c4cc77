import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { INVALID_CREDENTIALS, tooManyAttempts } from '../../idp/login.js';
import { DEFAULT_THROTTLE, type LoginThrottle, type ThrottlePolicies, addressKey, createLoginThrottle, limiterFactory } from '../../idp/throttle.js';
import { type TestIdp, authorizationRequest, startTestIdp } from '../helpers/idp.js';
import { deleteRedisKeys, redisReachable } from '../helpers/redis.js';

/** rate-limiter-flexible counts real time: short windows instead of a clock. */
const SHORT: ThrottlePolicies = {
  accountAddress: { points: 3, durationS: 0.6 },
  address: { points: 8, durationS: 0.6 },
  authorization: { points: 4, durationS: 0.6 },
};
const memory = await limiterFactory({ store: 'memory', redisPrefix: '', redisCommandTimeoutMs: 1000 });
const memoryThrottle = (policies = SHORT) => createLoginThrottle(memory.create, policies);
const fail = async (throttle: LoginThrottle, username: string, address: string, times: number) => {
  for (let i = 0; i < times; i += 1) await throttle.attempt(username, address);
};

describe('addressKey: IPv6 by its /64', () => {
  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b:1:2::198.51.100.1', '64:ff9b:1:2::/64'],
  ])('%s → %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('login throttle (memory)', () => {
  test('a stranger locks the account out from their own address only: the real user elsewhere still gets in', async () => {
    const throttle = memoryThrottle();
    await fail(throttle, 'bob', '198.51.100.9', SHORT.accountAddress.points);
    expect(await throttle.retryAfterS('bob', '198.51.100.9')).toBe(1);
    expect(await throttle.retryAfterS('bob', '203.0.113.7')).toBe(0);
    // The attacker's whole /64 is one address.
    await fail(throttle, 'bob', '2001:db8:1:2::1', SHORT.accountAddress.points);
    expect(await throttle.retryAfterS('bob', '2001:db8:1:2::ffff')).toBe(1);
    expect(await throttle.retryAfterS('bob', '2001:db8:1:3::1')).toBe(0);
  });

  test('one address trying many names reaches the address limit', async () => {
    const throttle = memoryThrottle();
    for (let i = 0; i < SHORT.address.points; i += 1) await throttle.attempt(`user-${i}`, '198.51.100.9');
    expect(await throttle.retryAfterS('someone-new', '198.51.100.9')).toBe(1);
    expect(await throttle.retryAfterS('someone-new', '203.0.113.7')).toBe(0);
  });

  test('spraying 10,000 names from 10,000 addresses flushes nothing', async () => {
    const throttle = memoryThrottle({ ...SHORT, accountAddress: { points: 3, durationS: 60 }, address: { points: 8, durationS: 60 } });
    await fail(throttle, 'bob', '198.51.100.9', 3);
    for (let i = 0; i < 10_000; i += 1) await throttle.attempt(`spray-${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(await throttle.retryAfterS('bob', '198.51.100.9')).toBeGreaterThan(50);
  });

  test('success resets the account from that address, not the address; the window ends on its own', async () => {
    const throttle = memoryThrottle();
    await fail(throttle, 'bob', '198.51.100.9', SHORT.accountAddress.points - 1);
    await throttle.attempt('bob', '198.51.100.9');
    await throttle.succeeded('bob', '198.51.100.9');
    await fail(throttle, 'bob', '198.51.100.9', SHORT.accountAddress.points - 1);
    expect(await throttle.retryAfterS('bob', '198.51.100.9')).toBe(0);
    await fail(throttle, 'carol', '198.51.100.9', SHORT.address.points - 2 * (SHORT.accountAddress.points - 1));
    expect(await throttle.retryAfterS('anyone', '198.51.100.9')).toBe(1);
    await sleep(SHORT.address.durationS * 1000 + 50);
    expect(await throttle.retryAfterS('anyone', '198.51.100.9')).toBe(0);
  });

  test('the defaults: 5 per account and address, 50 per address, 100 authorization requests per address', () => {
    expect(DEFAULT_THROTTLE).toEqual({ accountAddress: { points: 5, durationS: 900 }, address: { points: 50, durationS: 3600 }, authorization: { points: 100, durationS: 600 } });
  });
});

const redisUrl = process.env.REDIS_URL;
const redisUp = await redisReachable(redisUrl);
if (!redisUp) console.warn(`SKIPPED: shared login throttle on Redis needs a reachable Redis (REDIS_URL=${redisUrl ?? 'unset'})`);

(redisUp ? describe : describe.skip)('login throttle on Redis: every IdP instance sees the same counts', () => {
  const prefix = `throttle-test:${Math.random().toString(36).slice(2)}:`;
  let factories: Awaited<ReturnType<typeof limiterFactory>>[] = [];
  beforeAll(async () => {
    factories = await Promise.all([1, 2].map(() => limiterFactory({ store: 'redis', redisUrl, redisPrefix: prefix, redisCommandTimeoutMs: 1000 })));
  });
  afterAll(async () => {
    for (const factory of factories) factory.close();
    await deleteRedisKeys(redisUrl!, prefix);
  });

  test('failures at one instance throttle the account at the other', async () => {
    // Redis counts whole seconds.
    const policies = { ...SHORT, accountAddress: { points: 3, durationS: 5 } };
    const [first, second] = factories.map((factory) => createLoginThrottle(factory.create, policies));
    await fail(first!, 'bob', '198.51.100.9', policies.accountAddress.points);
    expect(await second!.retryAfterS('bob', '198.51.100.9')).toBe(5);
    expect(await second!.retryAfterS('bob', '203.0.113.7')).toBe(0);
  });
});

describe('login form and authorization endpoint (real IdP, short windows)', () => {
  let idp: TestIdp;
  afterEach(async () => {
    await idp.close();
  });

  const start = async () => {
    idp = await startTestIdp({ deps: { throttle: SHORT } });
    let started = 0;
    idp.idp.provider.on('interaction.started', () => void (started += 1));
    return { interactions: () => started };
  };

  /** A fresh authorization request and its login form, posted with these credentials from `address` (the proxy on loopback is trusted). */
  async function postLogin(username: string, password: string, address = '198.51.100.9') {
    const headers = { 'x-forwarded-for': address };
    const begin = await fetch((await authorizationRequest(idp)).url, { redirect: 'manual', headers });
    const cookie = begin.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const loginUrl = new URL(begin.headers.get('location')!, idp.url);
    const res = await fetch(`${loginUrl.href}/login`, { method: 'POST', redirect: 'manual', headers: { ...headers, cookie }, body: new URLSearchParams({ username, password }) });
    const uid = loginUrl.pathname.split('/').pop()!;
    // The page names its interaction and echoes the username; the rest must not depend on who was tried.
    const page = (await res.text()).replaceAll(uid, '<uid>').replaceAll(`value="${username}"`, 'value="<username>"');
    return { status: res.status, retryAfter: res.headers.get('retry-after'), page };
  }
  const failures = async (username: string, address?: string) => {
    for (let i = 0; i < SHORT.accountAddress.points; i += 1) expect((await postLogin(username, 'wrong', address)).status).toBe(401);
  };

  test('parallel guesses on one interaction: the attempt is counted before the password is checked, so only 3 are checked', async () => {
    await start();
    const headers = { 'x-forwarded-for': '198.51.100.9' };
    const begin = await fetch((await authorizationRequest(idp)).url, { redirect: 'manual', headers });
    const cookie = begin.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const login = `${new URL(begin.headers.get('location')!, idp.url).href}/login`;
    const guess = (i: number) => fetch(login, { method: 'POST', redirect: 'manual', headers: { ...headers, cookie }, body: new URLSearchParams({ username: 'bob', password: `guess-${i}` }) });
    const statuses = (await Promise.all(Array.from({ length: 12 }, (_, i) => guess(i)))).map((res) => res.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(SHORT.accountAddress.points);
    expect(statuses.filter((status) => status === 429)).toHaveLength(12 - SHORT.accountAddress.points);
  });

  test('3 wrong passwords: 429 with Retry-After even with the right password, from that address only; after the window it signs in', async () => {
    await start();
    await failures('bob');
    const throttled = await postLogin('bob', 'secret');
    expect(throttled).toMatchObject({ status: 429, retryAfter: '1' });
    expect(throttled.page).toContain(tooManyAttempts(1));
    expect(throttled.page).not.toContain(INVALID_CREDENTIALS);
    expect((await postLogin('bob', 'secret', '203.0.113.7')).status).toBe(303);
    await sleep(SHORT.accountAddress.durationS * 1000 + 50);
    expect((await postLogin('bob', 'secret')).status).toBe(303);
  });

  test('an unknown user gets exactly the answers a known one gets, wrong password and throttled alike', async () => {
    await start();
    const answers = async (username: string, address: string) => {
      const all = [];
      for (let i = 0; i <= SHORT.accountAddress.points; i += 1) all.push(await postLogin(username, 'wrong', address));
      return all;
    };
    const known = await answers('bob', '198.51.100.1');
    const unknown = await answers('mallory', '198.51.100.2');
    expect(unknown).toEqual(known);
    expect(known.map((answer) => answer.status)).toEqual([401, 401, 401, 429]);
  });

  test('anonymous authorization requests are bounded per address: past the limit 429, and no interaction is stored', async () => {
    const { interactions } = await start();
    const url = (await authorizationRequest(idp)).url;
    const get = (address: string) => fetch(url, { redirect: 'manual', headers: { 'x-forwarded-for': address } });
    const statuses = [];
    for (let i = 0; i < 20; i += 1) statuses.push((await get('198.51.100.9')).status);
    expect(statuses).toEqual([...Array(SHORT.authorization.points).fill(303), ...Array(20 - SHORT.authorization.points).fill(429)]);
    expect(interactions()).toBe(SHORT.authorization.points);
    const refused = await get('2001:db8:1:2::1');
    expect(refused.status).toBe(303);
    for (let i = 0; i < 10; i += 1) await get(`2001:db8:1:2::${i + 2}`);
    expect((await get('2001:db8:1:2::99')).status).toBe(429);
    expect((await get('198.51.100.10')).status).toBe(303);
  });
});
