import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RenewalOutcome, RenewalStore } from './renewal-store.js';
import { isFinal, outcomeCodec } from './renewal-store.js';

export interface RedisRenewalOptions {
  /** Must outlive the refresh call's own timeout, or a slow IdP would let a second refresh through. */
  lockTtlMs: number;
  now?: () => number;
  prefix?: string;
  /** Rounds of "wait for the holder, then try the lock again" before giving up as transient. */
  maxRounds?: number;
}

// Delete the lock only if we still own it: an expired lock may already belong to someone else.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Several app instances: a Redis lock per refresh token elects the one instance that calls the IdP;
 * it stores the sealed outcome until the old cookie expires and publishes it to the instances waiting.
 */
export async function createRedisRenewalStore(redis: Redis, options: RedisRenewalOptions): Promise<RenewalStore> {
  const { lockTtlMs, now = Date.now, prefix = 'bff:renewal:', maxRounds = 3 } = options;
  // A connection in subscriber mode can do nothing else.
  const subscriber = redis.duplicate();
  const channel = `${prefix}outcomes`;
  const waiters = new Map<string, Set<(sealed: string) => void>>();

  subscriber.on('message', (_channel: string, message: string) => {
    const space = message.indexOf(' ');
    for (const wake of waiters.get(message.slice(0, space)) ?? []) wake(message.slice(space + 1));
  });
  await subscriber.subscribe(channel);

  // Listen before looking: an outcome published between our GET and our wait is not missed.
  const listen = (id: string) => {
    let wake!: (sealed: string) => void;
    const published = new Promise<string>((resolve) => (wake = resolve));
    const set = waiters.get(id) ?? new Set();
    set.add(wake);
    waiters.set(id, set);
    const stop = () => {
      set.delete(wake);
      if (set.size === 0) waiters.delete(id);
    };
    return { published, stop };
  };

  return {
    async renew(refreshToken, validUntil, refresh): Promise<RenewalOutcome> {
      const codec = outcomeCodec(refreshToken);
      const outcomeKey = `${prefix}outcome:${codec.id}`;
      const lockKey = `${prefix}lock:${codec.id}`;
      const { published, stop } = listen(codec.id);
      try {
        for (let round = 0; round < maxRounds; round++) {
          const stored = await redis.get(outcomeKey);
          const known = stored ? codec.open(stored) : undefined;
          if (known) return known;
          const owner = randomUUID();
          if (await redis.set(lockKey, owner, 'PX', lockTtlMs, 'NX')) {
            try {
              const outcome = await refresh();
              const sealed = codec.seal(outcome);
              const keepMs = validUntil - now();
              if (isFinal(outcome) && keepMs > 0) await redis.set(outcomeKey, sealed, 'PX', keepMs);
              await redis.publish(channel, `${codec.id} ${sealed}`);
              return outcome;
            } finally {
              await redis.eval(RELEASE, 1, lockKey, owner);
            }
          }
          const sealed = await within(published, lockTtlMs);
          const shared = sealed ? codec.open(sealed) : undefined;
          if (shared) return shared;
        }
        return { kind: 'transient', reason: 'another instance held the renewal lock too long' };
      } finally {
        stop();
      }
    },
    async close() {
      subscriber.disconnect();
    },
  };
}
