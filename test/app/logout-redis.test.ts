import { afterEach, beforeEach, expect, test } from '@jest/globals';
import type { Redis } from 'ioredis';
import { silentLogger } from '../../common/log.js';
import { createRedisLogoutStore } from '../../app/logout/store-redis.js';
import type { LogoutStore } from '../../app/logout/store.js';
import { connectRedis } from '../../app/redis/connection.js';
import { describeWithRedisServer } from '../helpers/suite.js';

const KEEP_MS = 60_000;

/** Polls (bounded) until `check` holds: replication is asynchronous. */
async function eventually(check: () => Promise<boolean>, ms = 4000): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

/** Counts the commands a connection sends. */
function countCommands(redis: Redis) {
  const send = redis.sendCommand.bind(redis);
  let sent = 0;
  redis.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    sent += 1;
    return send(...args);
  }) as Redis['sendCommand'];
  return () => sent;
}

describeWithRedisServer('Redis logout store: records replicated to every instance', (server) => {
  const opened: { redis: Redis; store: LogoutStore }[] = [];
  let prefix: string;

  /** One app instance: its own bounded connection and its in-process copy of the records. */
  const instance = () => {
    const redis = connectRedis(server().url, 300, silentLogger);
    const store = createRedisLogoutStore(redis, { prefix });
    opened.push({ redis, store });
    return { redis, store };
  };
  const seen = (store: LogoutStore, key: string, at: number, ms?: number) => eventually(async () => (await store.loggedOutAt([key])) === at, ms);

  afterEach(async () => {
    for (const { redis, store } of opened.splice(0)) {
      await store.close();
      redis.disconnect();
    }
    server().resume();
  });
  beforeEach(() => {
    prefix = `test:logout:${Math.random().toString(36).slice(2)}:`;
  });

  test('a logout taken in by one instance reaches the other, published as it happens', async () => {
    const [a, b] = [instance(), instance()];
    await a.store.remember(['sid:s0'], 500, KEEP_MS);
    expect(await seen(b.store, 'sid:s0', 500)).toBe(true);
    // Both connected and synchronised now: only the publication can carry the next one, and it is quick.
    await a.store.remember(['sid:s1', 'sub:bob'], 1000, KEEP_MS);
    expect(await a.store.loggedOutAt(['sid:s1'])).toBe(1000);
    expect(await seen(b.store, 'sub:bob', 1000, 200)).toBe(true);
  });

  test('an instance started later loads the records Redis holds', async () => {
    const a = instance();
    await a.store.remember(['sid:s2'], 2000, KEEP_MS);
    const late = instance();
    expect(await seen(late.store, 'sid:s2', 2000)).toBe(true);
  });

  test('the latest logout wins, whatever order the copies arrive in', async () => {
    const [a, b] = [instance(), instance()];
    await a.store.remember(['sub:bob'], 3000, KEEP_MS);
    expect(await seen(b.store, 'sub:bob', 3000)).toBe(true);
    await b.store.remember(['sub:bob'], 2500, KEEP_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await a.store.loggedOutAt(['sub:bob'])).toBe(3000);
    expect(await b.store.loggedOutAt(['sub:bob'])).toBe(3000);
  });

  test('the per-request check makes no Redis call, and answers at once while Redis is hung', async () => {
    const a = instance();
    await a.store.remember(['sid:s3'], 4000, KEEP_MS);
    const sent = countCommands(a.redis);
    server().pause();
    const started = performance.now();
    for (let i = 0; i < 1000; i++) await a.store.loggedOutAt(['sub:someone', `sid:${i % 2 ? 's3' : 'other'}`]);
    expect(performance.now() - started).toBeLessThan(200);
    expect(await a.store.loggedOutAt(['sid:s3'])).toBe(4000);
    expect(sent()).toBe(0);
  });

  test('Redis killed: a logout still lands here at once, and reaches the others when Redis is back empty', async () => {
    const [a, b] = [instance(), instance()];
    expect(await eventually(async () => a.redis.status === 'ready' && b.redis.status === 'ready')).toBe(true);
    await server().kill();
    const started = performance.now();
    await a.store.remember(['sid:s4'], 5000, KEEP_MS);
    expect(performance.now() - started).toBeLessThan(400);
    expect(await a.store.loggedOutAt(['sid:s4'])).toBe(5000);
    expect(await b.store.loggedOutAt(['sid:s4'])).toBeUndefined();
    await server().restart();
    // A gives back what only it knows; B takes it in.
    expect(await seen(b.store, 'sid:s4', 5000)).toBe(true);
  });

  test('Redis hung: writing a logout waits no longer than the command timeout', async () => {
    const a = instance();
    expect(await eventually(async () => a.redis.status === 'ready')).toBe(true);
    server().pause();
    const started = performance.now();
    await a.store.remember(['sid:s5'], 6000, KEEP_MS);
    expect(performance.now() - started).toBeLessThan(700);
    expect(await a.store.loggedOutAt(['sid:s5'])).toBe(6000);
  });
});
