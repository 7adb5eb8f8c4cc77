import { afterEach, beforeEach, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { silentLogger } from '../../common/log.js';
import { deferred, session } from '../helpers/renewal.js';
import { connectRedis } from '../../app/redis/connection.js';
import { createRedisRenewalStore } from '../../app/renewal/store-redis.js';
import { type RenewalOutcome, type RenewalStore, outcomeCodec } from '../../app/renewal/store.js';
import { describeWithRedisServer } from '../helpers/suite.js';

const REDIS_TIMEOUT_MS = 300;
const WAIT_MS = 1000;
const VALID_UNTIL = () => Date.now() + 60_000;


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An IdP without a reuse grace: the first refresh of a token renews, any later one is refused. */
function rotatingIdp() {
  const used = new Set<string>();
  let calls = 0;
  return {
    calls: () => calls,
    refresh: (token: string, delayMs = 0) => async (): Promise<RenewalOutcome> => {
      calls += 1;
      await sleep(delayMs);
      if (used.has(token)) return { kind: 'refused', reason: 'invalid_grant: reused' };
      used.add(token);
      return { kind: 'renewed', session: session(calls) };
    },
  };
}

/**
 * The protection off, as the store was: read the stored outcome, then take the lock — two calls — and store with a plain SET.
 * `between` runs in the gap, as another instance would.
 */
function readThenLock(redis: Redis, prefix: string, between: () => Promise<void> = async () => {}): RenewalStore {
  return {
    async renew(refreshToken, validUntil, refresh) {
      const codec = outcomeCodec(refreshToken);
      const stored = await redis.get(`${prefix}outcome:${codec.id}`);
      if (stored) return codec.open(stored)!.outcome;
      await between();
      if (!(await redis.set(`${prefix}lock:${codec.id}`, 'x', 'PX', 5000, 'NX'))) return { kind: 'transient', reason: 'held' };
      const outcome = await refresh();
      await redis.set(`${prefix}outcome:${codec.id}`, codec.seal({ outcome, at: Date.now() }), 'PX', validUntil - Date.now());
      await redis.del(`${prefix}lock:${codec.id}`);
      return outcome;
    },
    close: async () => {},
  };
}

const kindOf = (outcome: RenewalOutcome) => (outcome.kind === 'renewed' ? `renewed ${outcome.session.accessToken}` : outcome.kind);

describeWithRedisServer('Redis renewal store: one refresh per token across instances, bounded by Redis and by time', (server) => {
  let prefix: string;
  const opened: { redis: Redis; store: RenewalStore }[] = [];

  /** One app instance: its own bounded connection and store. */
  const instance = async (options: { lockTtlMs?: number; staleGraceMs?: number } = {}) => {
    const redis = connectRedis(server().url, REDIS_TIMEOUT_MS, silentLogger);
    const store = createRedisRenewalStore(redis, { lockTtlMs: 5000, waitMs: WAIT_MS, prefix, ...options });
    opened.push({ redis, store });
    await new Promise((resolve) => redis.once('ready', resolve));
    // The subscriber connects beside it: give it the moment it needs.
    await sleep(50);
    return { redis, store };
  };

  beforeEach(() => {
    prefix = `test:renewal:${Math.random().toString(36).slice(2)}:`;
  });
  afterEach(async () => {
    server().resume();
    for (const { redis, store } of opened.splice(0)) {
      await store.close();
      redis.disconnect();
    }
  });

  test('concurrent renewals on two instances share one refresh; a stale token later gets the stored outcome', async () => {
    const [a, b] = [await instance(), await instance()];
    const idp = rotatingIdp();
    const gate = deferred<void>();
    const refresh = async () => {
      await gate.promise;
      return idp.refresh('rt-0')();
    };
    const all = Promise.all([a, b, a, b, a, b].map(({ store }) => store.renew('rt-0', VALID_UNTIL(), refresh)));
    await sleep(100);
    gate.resolve();
    const outcomes = await all;
    expect(idp.calls()).toBe(1);
    expect(new Set(outcomes.map(kindOf))).toEqual(new Set(['renewed at-1']));
    expect(kindOf(await b.store.renew('rt-0', VALID_UNTIL(), idp.refresh('rt-0')))).toBe('renewed at-1');
    expect(idp.calls()).toBe(1);
  });

  test('past the stale-cookie grace window a stale token is refused on every instance, without a refresh; within it, the stored outcome', async () => {
    const [a, b, c] = [await instance({ staleGraceMs: 300 }), await instance({ staleGraceMs: 300 }), await instance({ staleGraceMs: 300 })];
    const idp = rotatingIdp();
    expect(kindOf(await a.store.renew('rt-g', VALID_UNTIL(), idp.refresh('rt-g')))).toBe('renewed at-1');
    expect(kindOf(await b.store.renew('rt-g', VALID_UNTIL(), idp.refresh('rt-g')))).toBe('renewed at-1');
    await sleep(400);
    // A renewed it, B took the outcome in, C never saw it: all three only know the fact now.
    for (const { store } of [a, b, c]) expect(kindOf(await store.renew('rt-g', VALID_UNTIL(), idp.refresh('rt-g')))).toBe('stale');
    expect(idp.calls()).toBe(1);
  });

  test('a transient outcome reaches the waiters but is not kept', async () => {
    const [a, b] = [await instance(), await instance()];
    let calls = 0;
    const refresh = async (): Promise<RenewalOutcome> => {
      calls += 1;
      await sleep(50);
      return { kind: 'transient', reason: 'idp down' };
    };
    const outcomes = await Promise.all([a.store.renew('rt-t', VALID_UNTIL(), refresh), b.store.renew('rt-t', VALID_UNTIL(), refresh)]);
    expect(outcomes.map(kindOf)).toEqual(['transient', 'transient']);
    expect(calls).toBe(1);
    await b.store.renew('rt-t', VALID_UNTIL(), refresh);
    expect(calls).toBe(2);
  });

  test('a final outcome is written once: a late refusal gets the stored renewal back', async () => {
    // A's lock expires while its refresh is slow; B renews meanwhile; A's refresh, a reuse, is refused.
    const [a, b] = [await instance({ lockTtlMs: 100 }), await instance({ lockTtlMs: 100 })];
    const idp = rotatingIdp();
    const first = a.store.renew('rt-1', VALID_UNTIL(), async () => {
      await sleep(300);
      return idp.refresh('rt-1')();
    });
    await sleep(150);
    expect(kindOf(await b.store.renew('rt-1', VALID_UNTIL(), idp.refresh('rt-1')))).toBe('renewed at-1');
    expect(kindOf(await first)).toBe('renewed at-1');
    expect(idp.calls()).toBe(2);
  });

  test('failure mode: read, then lock — a holder finishing in the gap means a second refresh, and its refusal overwrites the renewal', async () => {
    const [a, b] = [await instance(), await instance()];
    const idp = rotatingIdp();
    const old = (redis: Redis, between?: () => Promise<void>) => readThenLock(redis, prefix, between);
    const holder = old(a.redis);
    const waiter = old(b.redis, () => holder.renew('rt-2', VALID_UNTIL(), idp.refresh('rt-2')).then(() => {}));
    const late = await waiter.renew('rt-2', VALID_UNTIL(), idp.refresh('rt-2'));
    expect(idp.calls()).toBe(2);
    expect(kindOf(late)).toBe('refused');
    // The stale cookie now reads the refusal: its session is over although a renewal succeeded.
    expect(kindOf(await holder.renew('rt-2', VALID_UNTIL(), idp.refresh('rt-2')))).toBe('refused');
  });

  test('racing instances, seeded random timings: always one refresh per token and the same answer for all', async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 100_000);
    console.log(`renewal race seed ${seed}`);
    let state = seed;
    const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const [a, b] = [await instance(), await instance()];
    const idp = rotatingIdp();
    for (let round = 0; round < 40; round++) {
      const token = `rt-race-${round}`;
      const callers = [a, b, a, b].map(async ({ store }) => {
        await sleep(Math.floor(random() * 6));
        return store.renew(token, VALID_UNTIL(), idp.refresh(token, Math.floor(random() * 4)));
      });
      const outcomes = await Promise.all(callers);
      expect(new Set(outcomes.map((outcome) => outcome.kind))).toEqual(new Set(['renewed']));
      expect(new Set(outcomes.map(kindOf)).size).toBe(1);
    }
    expect(idp.calls()).toBe(40);
  });

  test('a waiter gives up as transient after its wait, however long the holder takes', async () => {
    const [a, b] = [await instance(), await instance()];
    const never = new Promise<RenewalOutcome>(() => {});
    void a.store.renew('rt-3', VALID_UNTIL(), () => never);
    await sleep(50);
    const started = performance.now();
    const outcome = await b.store.renew('rt-3', VALID_UNTIL(), () => never);
    const waited = performance.now() - started;
    expect(outcome.kind).toBe('transient');
    expect(waited).toBeGreaterThanOrEqual(WAIT_MS - 50);
    expect(waited).toBeLessThanOrEqual(WAIT_MS + REDIS_TIMEOUT_MS + 100);
  });

  test('Redis killed during the refresh: the new tokens still reach the caller', async () => {
    const a = await instance();
    const outcome = await a.store.renew('rt-4', VALID_UNTIL(), async () => {
      await server().kill();
      return { kind: 'renewed', session: session(4) };
    });
    expect(kindOf(outcome)).toBe('renewed at-4');
    await server().restart();
  });

  test('Redis down: this instance alone, still one refresh for concurrent renewals', async () => {
    const a = await instance();
    await server().kill();
    const idp = rotatingIdp();
    const started = performance.now();
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => a.store.renew('rt-5', VALID_UNTIL(), idp.refresh('rt-5', 20))));
    expect(performance.now() - started).toBeLessThan(500);
    expect(idp.calls()).toBe(1);
    expect(new Set(outcomes.map(kindOf))).toEqual(new Set(['renewed at-1']));
    // The stale token, later, on the same instance: answered from memory.
    expect(kindOf(await a.store.renew('rt-5', VALID_UNTIL(), idp.refresh('rt-5')))).toBe('renewed at-1');
    await server().restart();
  });

  test('Redis hung: a renewal waits no longer than one command timeout before going it alone', async () => {
    const a = await instance();
    server().pause();
    const idp = rotatingIdp();
    const started = performance.now();
    const outcome = await a.store.renew('rt-6', VALID_UNTIL(), idp.refresh('rt-6'));
    expect(kindOf(outcome)).toBe('renewed at-1');
    expect(performance.now() - started).toBeLessThan(2 * REDIS_TIMEOUT_MS);
  });
});
