import { afterEach, describe, expect, test } from '@jest/globals';
import { INVALID_CREDENTIALS, tooManyAttempts } from '../../idp/login.js';
import { ACCOUNT_POLICY, ADDRESS_POLICY, createLoginThrottle, createThrottle, delayAfter } from '../../idp/throttle.js';
import { testClock } from '../helpers/app.js';
import { type TestIdp, authorizationRequest, startTestIdp } from '../helpers/idp.js';

const MINUTE = 60_000;

describe('throttle (injected clock)', () => {
  const policy = { maxFailures: 3, baseDelayMs: 10_000, maxDelayMs: 40_000, windowMs: 15 * MINUTE, maxEntries: 4 };

  test('the wait starts at the limit and doubles up to the cap', () => {
    expect([2, 3, 4, 5, 6, 9].map((failures) => delayAfter(failures, policy))).toEqual([0, 10_000, 20_000, 40_000, 40_000, 40_000]);
  });

  test('N failures: throttled; once the wait is over: one more try', () => {
    const clock = testClock(0);
    const throttle = createThrottle(policy, clock.now);
    for (let i = 0; i < 2; i += 1) throttle.fail('bob');
    expect(throttle.waitMs('bob')).toBe(0);
    throttle.fail('bob');
    expect(throttle.waitMs('bob')).toBe(10_000);
    clock.advance(9_000);
    expect(throttle.waitMs('bob')).toBe(1_000);
    clock.advance(1_000);
    expect(throttle.waitMs('bob')).toBe(0);
    throttle.fail('bob');
    expect(throttle.waitMs('bob')).toBe(20_000);
    expect(throttle.waitMs('alice')).toBe(0);
  });

  test('a quiet window forgets the failures: the count starts over', () => {
    const clock = testClock(0);
    const throttle = createThrottle(policy, clock.now);
    for (let i = 0; i < 5; i += 1) throttle.fail('bob');
    expect(throttle.waitMs('bob')).toBe(40_000);
    clock.advance(15 * MINUTE);
    expect(throttle.waitMs('bob')).toBe(0);
    throttle.fail('bob');
    throttle.fail('bob');
    expect(throttle.waitMs('bob')).toBe(0);
  });

  test('bounded memory: expired keys go first, then the least recently failed', () => {
    const clock = testClock(0);
    const throttle = createThrottle(policy, clock.now);
    throttle.fail('old');
    clock.advance(15 * MINUTE);
    for (const key of ['a', 'b', 'c']) throttle.fail(key);
    throttle.fail('d');
    expect(throttle.size()).toBe(4);
    for (let i = 0; i < 3; i += 1) throttle.fail('a');
    throttle.fail('e');
    expect(throttle.size()).toBe(4);
    expect(throttle.waitMs('a')).toBeGreaterThan(0); // 'b', failed before 'a' was last, went instead
    for (let i = 0; i < 1000; i += 1) throttle.fail(`spray-${i}`);
    expect(throttle.size()).toBe(4);
  });

  test('login throttle: success resets the account, not the address', () => {
    const clock = testClock(0);
    const throttle = createLoginThrottle(clock.now);
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures - 1; i += 1) throttle.failed('bob', '10.0.0.1');
    throttle.succeeded('bob');
    for (let i = 0; i < ACCOUNT_POLICY.maxFailures - 1; i += 1) throttle.failed('bob', '10.0.0.1');
    expect(throttle.retryAfterS('bob', '10.0.0.2')).toBe(0);
    throttle.failed('bob', '10.0.0.1');
    expect(throttle.retryAfterS('bob', '10.0.0.2')).toBe(30);
    // The address has 9 failures by now; 11 more, over other names, reach its limit.
    for (let i = 0; i < ADDRESS_POLICY.maxFailures - 9; i += 1) throttle.failed(`user-${i}`, '10.0.0.1');
    expect(throttle.retryAfterS('someone-new', '10.0.0.1')).toBe(30);
    expect(throttle.retryAfterS('someone-new', '10.0.0.3')).toBe(0);
  });
});

describe('login form throttling (real IdP, injected clock)', () => {
  let idp: TestIdp;
  afterEach(async () => {
    await idp.close();
  });

  async function start() {
    const clock = testClock();
    idp = await startTestIdp({ deps: { now: clock.now } });
    return clock;
  }

  /** A fresh authorization request and its login form, posted with these credentials. */
  async function postLogin(username: string, password: string) {
    const begin = await fetch((await authorizationRequest(idp)).url, { redirect: 'manual' });
    const cookie = begin.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const loginUrl = new URL(begin.headers.get('location')!, idp.url);
    const res = await fetch(`${loginUrl.href}/login`, { method: 'POST', redirect: 'manual', headers: { cookie }, body: new URLSearchParams({ username, password }) });
    const uid = loginUrl.pathname.split('/').pop()!;
    // The page names its interaction and echoes the username; the rest must not depend on who was tried.
    const page = (await res.text()).replaceAll(uid, '<uid>').replaceAll(`value="${username}"`, 'value="<username>"');
    return { status: res.status, retryAfter: res.headers.get('retry-after'), page };
  }

  const failures = async (username: string, count = ACCOUNT_POLICY.maxFailures) => {
    for (let i = 0; i < count; i += 1) expect((await postLogin(username, 'wrong')).status).toBe(401);
  };

  test('5 wrong passwords: the 6th attempt gets 429 and Retry-After, even with the right password; 30 s later it signs in', async () => {
    const clock = await start();
    await failures('bob');
    const throttled = await postLogin('bob', 'secret');
    expect(throttled).toMatchObject({ status: 429, retryAfter: '30' });
    expect(throttled.page).toContain(tooManyAttempts(30));
    expect(throttled.page).not.toContain(INVALID_CREDENTIALS);
    clock.advance(30_000);
    expect((await postLogin('bob', 'secret')).status).toBe(303);
  });

  test('an unknown user gets exactly the answers a known one gets, wrong password and throttled alike', async () => {
    await start();
    const answers = async (username: string) => {
      const all = [];
      for (let i = 0; i <= ACCOUNT_POLICY.maxFailures; i += 1) all.push(await postLogin(username, 'wrong'));
      return all;
    };
    const known = await answers('bob');
    const unknown = await answers('mallory');
    expect(unknown).toEqual(known);
    expect(known.map((answer) => answer.status)).toEqual([401, 401, 401, 401, 401, 429]);
  });

  test('after the quiet window the account may try again, with a fresh count', async () => {
    const clock = await start();
    await failures('bob');
    expect((await postLogin('bob', 'wrong')).status).toBe(429);
    clock.advance(ACCOUNT_POLICY.windowMs);
    await failures('bob', ACCOUNT_POLICY.maxFailures - 1);
    expect((await postLogin('bob', 'secret')).status).toBe(303);
  });

  test('a successful sign-in resets the account count', async () => {
    await start();
    await failures('bob', ACCOUNT_POLICY.maxFailures - 1);
    expect((await postLogin('bob', 'secret')).status).toBe(303);
    await failures('bob', ACCOUNT_POLICY.maxFailures - 1);
    expect((await postLogin('bob', 'secret')).status).toBe(303);
  });
});
