import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import type { Express } from 'express';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { authCookieOf, openAuthCookie, signIn, startTestApp, testClock, type TestClock } from '../helpers/app.js';
import type { RenewalStore } from '../../app/renewal/store.js';
import { createRedisRenewalStore } from '../../app/renewal/store-redis.js';
import { Redis } from 'ioredis';
import { deleteRedisKeys, redisReachable } from '../helpers/redis.js';

/** The protection switched off: every request refreshes on its own, as naive BFFs do. */
const uncoordinated: RenewalStore = { renew: (_token, _until, refresh) => refresh(), close: async () => {} };

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.close();
});

interface Tally {
  logouts: number;
  /** Distinct refresh tokens handed out by renewals: each must cost exactly one IdP call. */
  renewals: number;
}

/**
 * The scenario browsers produce: 20 parallel requests with one cookie past half-life, the original cookie
 * again 2 s later, then normal use for two more token lifetimes. Requests go round-robin over `apps`.
 */
async function burstScenario(apps: Express[], clock: TestClock): Promise<Tally> {
  let logouts = 0;
  const refreshTokens = new Set<string>();
  let turn = 0;
  const visit = async (cookiePair: string) => {
    const res = await request(apps[turn++ % apps.length]!).get('/about').set('Cookie', cookiePair);
    if (res.status !== 200) logouts++;
    const renewed = authCookieOf(res);
    if (renewed?.value) refreshTokens.add(openAuthCookie(renewed.value)!.refreshToken!);
    return renewed?.value ? renewed : undefined;
  };

  const { cookie: original } = await signIn(apps[0]!);
  clock.advance(31_000);
  const burst = await Promise.all(Array.from({ length: 20 }, () => visit(original.pair)));
  let current = burst.find(Boolean) ?? original;

  clock.advance(2_000);
  current = (await visit(original.pair)) ?? current;

  for (let elapsed = 0; elapsed < 120_000; elapsed += 10_000) {
    clock.advance(10_000);
    current = (await visit(current.pair)) ?? current;
  }
  return { logouts, renewals: refreshTokens.size };
}

describe('concurrent renewal, one instance', () => {
  test('20 parallel requests, a stale cookie and two more lifetimes: no logout, one refresh per refresh token', async () => {
    const clock = testClock();
    const { app, close } = await startTestApp(idp, { clock });
    const before = idp.refreshCalls();
    const tally = await burstScenario([app], clock);
    await close();
    expect(tally.logouts).toBe(0);
    expect(tally.renewals).toBeGreaterThanOrEqual(4);
    expect(idp.refreshCalls() - before).toBe(tally.renewals);
  });

  test('failure mode: without the protection (and without the IdP grace window) the same burst logs the user out', async () => {
    const clock = testClock();
    const strictIdp = await startTestIdp({ refreshReuseGraceS: 0 });
    const { app, close } = await startTestApp(strictIdp, { clock, deps: { renewalStore: uncoordinated } });
    const tally = await burstScenario([app], clock);
    await close();
    await strictIdp.close();
    expect(tally.logouts).toBeGreaterThan(0);
  });
});

const redisUrl = process.env.REDIS_URL;
const redisUp = await redisReachable(redisUrl);
const withRedis = redisUp ? describe : describe.skip;
if (!redisUp) console.warn('SKIPPED: two-instance renewal tests need Redis (set REDIS_URL to a reachable server)');

withRedis('concurrent renewal, two instances on one Redis', () => {
  test('requests alternating between instances: no logout, one refresh per refresh token', async () => {
    const clock = testClock();
    const prefix = `test:${process.pid}:${Date.now()}:`;
    const connections = [1, 2].map(() => new Redis(redisUrl!));
    const stores = await Promise.all(connections.map((redis) => createRedisRenewalStore(redis, { lockTtlMs: 5000, now: clock.now, prefix })));
    const instances = await Promise.all(stores.map((renewalStore) => startTestApp(idp, { clock, deps: { renewalStore } })));
    const before = idp.refreshCalls();
    const tally = await burstScenario(instances.map((instance) => instance.app), clock);
    await Promise.all(instances.map((instance) => instance.close()));
    await Promise.all(connections.map((redis) => redis.quit()));
    await deleteRedisKeys(redisUrl!, prefix);
    expect(tally.logouts).toBe(0);
    expect(tally.renewals).toBeGreaterThanOrEqual(4);
    expect(idp.refreshCalls() - before).toBe(tally.renewals);
  });

  test('failure mode: two instances each with only in-process protection, against an IdP without grace, log the user out', async () => {
    const clock = testClock();
    const strictIdp = await startTestIdp({ refreshReuseGraceS: 0 });
    const instances = await Promise.all([1, 2].map(() => startTestApp(strictIdp, { clock })));
    const tally = await burstScenario(instances.map((instance) => instance.app), clock);
    await Promise.all(instances.map((instance) => instance.close()));
    await strictIdp.close();
    expect(tally.logouts).toBeGreaterThan(0);
  });

  test('the IdP grace window alone also saves it: two in-process instances, no logout', async () => {
    const clock = testClock();
    const instances = await Promise.all([1, 2].map(() => startTestApp(idp, { clock })));
    const tally = await burstScenario(instances.map((instance) => instance.app), clock);
    await Promise.all(instances.map((instance) => instance.close()));
    expect(tally.logouts).toBe(0);
  });
});
