/**
 * A cookie from before a renewal (a request in flight when it happened, or a thief's old copy) gets the renewed session
 * only within the stale-cookie grace window; after it the old cookie is anonymous, and the IdP is not asked again (its
 * own reuse grace, 30 s, would answer a second refresh with the rotated tokens).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { type AppConfig, readAppConfig } from '../../app/config.js';
import { type SetCookie, type TestClock, authCookieOf, openAuthCookie, signIn, startTestApp, testClock } from '../helpers/app.js';
import { type TestIdp, startTestIdp } from '../helpers/idp.js';
import { describeWithRedisServer } from '../helpers/suite.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.close();
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function instance(clock: TestClock, config: Partial<AppConfig> = {}) {
  const started = await startTestApp(idp, { clock, config });
  closers.push(started.close);
  return started.app;
}

/** What a cookie gets on /about: the page or the way to sign in, the cookie set (if any), and whether the IdP was asked. */
async function visit(app: Express, cookie: SetCookie) {
  const before = idp.refreshCalls();
  const res = await request(app).get('/about').set('Cookie', cookie.pair);
  const set = authCookieOf(res);
  return {
    status: res.status,
    refreshToken: set?.value ? openAuthCookie(set.value)!.refreshToken : set ? 'cleared' : undefined,
    idpCalls: idp.refreshCalls() - before,
    cookie: set,
  };
}

/** Sign in on `renewing`, renew past half-life; the old cookie then goes to `late` (the same instance or another). */
async function renewThenStale(renewing: Express, late: Express, clock: TestClock, lateByMs: number) {
  const { cookie: old } = await signIn(renewing);
  clock.advance(31_000);
  const renewal = await visit(renewing, old);
  expect(renewal).toMatchObject({ status: 200, idpCalls: 1 });
  clock.advance(lateByMs);
  const stale = await visit(late, old);
  const legitimate = await visit(late, renewal.cookie!);
  return { renewed: renewal.refreshToken, stale: { status: stale.status, refreshToken: stale.refreshToken, idpCalls: stale.idpCalls }, legitimate: legitimate.status };
}

/**
 * Past the window: anonymous, the IdP not asked, and no Set-Cookie — a late request of the real user (sent before its
 * browser stored the renewed cookie) must not delete that cookie; a thief's copy stays dead until it expires.
 */
const ANONYMOUS_UNTOUCHED = { status: 302, refreshToken: undefined, idpCalls: 0 };

describe('stale cookies on one instance', () => {
  test('within the window (2 s late, as the concurrency test sends it): the renewed cookie, no second refresh', async () => {
    const clock = testClock();
    const app = await instance(clock);
    const run = await renewThenStale(app, app, clock, 2_000);
    expect(run.stale).toEqual({ status: 200, refreshToken: run.renewed, idpCalls: 0 });
    expect(run.legitimate).toBe(200);
  });

  test('after the window (11 s late, default 10 s): anonymous, the IdP not asked, nothing cleared, the renewed cookie still works', async () => {
    const clock = testClock();
    const app = await instance(clock);
    const run = await renewThenStale(app, app, clock, 11_000);
    expect(run.stale).toEqual(ANONYMOUS_UNTOUCHED);
    expect(run.legitimate).toBe(200);
  });

  test('the window is configurable (APP_STALE_COOKIE_GRACE_MS): 3 s, then 5 s late is too late', async () => {
    const clock = testClock();
    const app = await instance(clock, { staleCookieGraceMs: 3_000 });
    const run = await renewThenStale(app, app, clock, 5_000);
    expect(run.stale).toEqual(ANONYMOUS_UNTOUCHED);
    expect(run.legitimate).toBe(200);
  });

  test('still remembered until the old cookie expires: 26 s late (its last seconds: the IdP may have given it 59, not 60; inside the IdP\'s own 30-s reuse grace), no refresh', async () => {
    const clock = testClock();
    const app = await instance(clock);
    const run = await renewThenStale(app, app, clock, 26_000);
    expect(run.stale).toEqual(ANONYMOUS_UNTOUCHED);
  });
});

describeWithRedisServer('stale cookies on another instance sharing Redis', (server) => {

  test('within the window: the renewed cookie from Redis; after it: anonymous, no IdP call, the renewed cookie works there', async () => {
    const clock = testClock();
    const [a, b] = [await instance(clock, { redisUrl: server().url }), await instance(clock, { redisUrl: server().url })];
    const within = await renewThenStale(a, b, clock, 2_000);
    expect(within.stale).toEqual({ status: 200, refreshToken: within.renewed, idpCalls: 0 });
    const after = await renewThenStale(a, b, clock, 11_000);
    expect(after.stale).toEqual(ANONYMOUS_UNTOUCHED);
    expect(after.legitimate).toBe(200);
  });
});

describe('APP_STALE_COOKIE_GRACE_MS', () => {
  test('10 s unless set; 0 to 60 s', () => {
    expect(readAppConfig({}).staleCookieGraceMs).toBe(10_000);
    expect(readAppConfig({ APP_STALE_COOKIE_GRACE_MS: '3000' }).staleCookieGraceMs).toBe(3_000);
    expect(() => readAppConfig({ APP_STALE_COOKIE_GRACE_MS: '60001' })).toThrow(/APP_STALE_COOKIE_GRACE_MS/);
  });
});
