import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../../common/log.js';
import { createMemoryRenewalStore } from './store-memory.js';
import type { RenewalOutcome, RenewalStore, Settled } from './store.js';
import { DEFAULT_STALE_GRACE_MS, STALE, isFinal, outcomeCodec } from './store.js';
import { subscribe } from '../redis/subscription.js';

export interface RedisRenewalOptions {
  /** Must outlive the refresh call's own timeout, or a slow IdP would let a second refresh through. */
  lockTtlMs: number;
  /** A request waiting for another instance's refresh gives up after this long in all (transient: it keeps its cookie). Half the lock's lifetime unless given. */
  waitMs?: number;
  /** How often a waiter looks again when nothing was published (a missed message, a restarted Redis). */
  pollMs?: number;
  /** How long a stale cookie still gets the renewed session (store.ts says why 10 s). */
  staleGraceMs?: number;
  now?: () => number;
  prefix?: string;
  logger?: Logger;
}

// Keys: the sealed outcome (kept for the stale-cookie grace), the fact that the token is used up (kept until the old
// cookie expires), the lock. One step: the stored outcome, else the fact, else whether the lock is held, else
// (ARGV[3] = '1') the lock taken by ARGV[1].
const CLAIM = `
local stored = redis.call('get', KEYS[1])
if stored then return {'outcome', stored} end
if redis.call('exists', KEYS[2]) == 1 then return {'used'} end
if redis.call('exists', KEYS[3]) == 1 then return {'held'} end
if ARGV[3] ~= '1' then return {'free'} end
redis.call('set', KEYS[3], ARGV[1], 'PX', ARGV[2])
return {'locked'}`;

// A final outcome (the fact kept ARGV[3] ms, 0 = not final; the outcome ARGV[4] ms) is written once: a later one gets
// the first back while it is kept. Then publish and unlock.
const FINISH = `
local outcome = ARGV[2]
if ARGV[3] ~= '0' then
  if redis.call('set', KEYS[2], '1', 'PX', ARGV[3], 'NX') then
    redis.call('set', KEYS[1], outcome, 'PX', ARGV[4])
  else
    outcome = redis.call('get', KEYS[1]) or outcome
  end
end
redis.call('publish', ARGV[5], ARGV[6] .. ' ' .. outcome)
if redis.call('get', KEYS[3]) == ARGV[1] then redis.call('del', KEYS[3]) end
return outcome`;

// Delete the lock only if we still own it: an expired lock may already belong to someone else.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type Claim = ['outcome', string] | ['used'] | ['held'] | ['free'] | ['locked'];

interface RenewalCommands {
  renewalClaim(outcomeKey: string, usedKey: string, lockKey: string, owner: string, lockTtlMs: number, take: 0 | 1): Promise<Claim>;
  renewalFinish(outcomeKey: string, usedKey: string, lockKey: string, owner: string, sealed: string, keepMs: number, graceMs: number, channel: string, id: string): Promise<string>;
  renewalRelease(lockKey: string, owner: string): Promise<number>;
}

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Keys {
  outcome: string;
  used: string;
  lock: string;
}

/**
 * Several app instances: in front, this instance's own single flight and outcomes (the memory store); behind it, a Redis
 * lock per refresh token elects the one instance that calls the IdP, which stores the sealed outcome for the stale-cookie
 * grace and the fact that the token is used up until the old cookie expires, and publishes the outcome to the instances
 * waiting. Redis away or hung: the instance renews on its own (the IdP's reuse grace makes a second refresh by another
 * instance safe), and new tokens always reach the caller.
 */
export function createRedisRenewalStore(redis: Redis, options: RedisRenewalOptions): RenewalStore {
  const { lockTtlMs, waitMs = lockTtlMs / 2, pollMs = 200, now = Date.now, prefix = 'bff:renewal:', logger = silentLogger, staleGraceMs = DEFAULT_STALE_GRACE_MS } = options;
  const local = createMemoryRenewalStore(now, { staleGraceMs });
  const channel = `${prefix}outcomes`;
  redis.defineCommand('renewalClaim', { numberOfKeys: 3, lua: CLAIM });
  redis.defineCommand('renewalFinish', { numberOfKeys: 3, lua: FINISH });
  redis.defineCommand('renewalRelease', { numberOfKeys: 1, lua: RELEASE });
  const commands = redis as Redis & RenewalCommands;
  const unavailable = (what: string) => (error: unknown) => {
    logger.debug(`renewal store: ${what} failed`, { error });
    return undefined;
  };

  const waiters = new Map<string, Set<(sealed: string) => void>>();
  const subscription = subscribe(redis, channel, (message) => {
    const space = message.indexOf(' ');
    for (const wake of waiters.get(message.slice(0, space)) ?? []) wake(message.slice(space + 1));
  });

  // Listen before looking: an outcome published between our claim and our wait is not missed.
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

  const settledNow = (outcome: RenewalOutcome): Settled => ({ outcome, at: now() });
  const transient = (reason: string) => settledNow({ kind: 'transient', reason });

  const shared = async (refreshToken: string, validUntil: number, refresh: () => Promise<RenewalOutcome>): Promise<Settled> => {
    const deadline = performance.now() + waitMs;
    const codec = outcomeCodec(refreshToken);
    const keys: Keys = { outcome: `${prefix}outcome:${codec.id}`, used: `${prefix}used:${codec.id}`, lock: `${prefix}lock:${codec.id}` };
    const owner = randomUUID();
    const { published, stop } = listen(codec.id);
    try {
      let claim = await commands.renewalClaim(keys.outcome, keys.used, keys.lock, owner, lockTtlMs, 1).catch(unavailable('claim'));
      // Redis away: this instance alone, still one refresh per token in this process.
      if (!claim) return settledNow(await refresh());
      if (claim[0] === 'locked') return await hold(codec, keys, owner, validUntil, refresh);
      while (claim[0] === 'held') {
        const left = deadline - performance.now();
        if (left <= 0) return transient('another instance is still renewing');
        const sealed = await within(published, Math.min(left, pollMs));
        if (sealed) return codec.open(sealed) ?? transient('unreadable renewal outcome');
        // Only look: a waiter never starts a refresh of its own, so it never waits longer than the IdP timeout.
        const look = await commands.renewalClaim(keys.outcome, keys.used, keys.lock, owner, lockTtlMs, 0).catch(unavailable('look'));
        if (!look) return transient('redis unavailable while another instance renews');
        claim = look;
      }
      if (claim[0] === 'outcome') return codec.open(claim[1]) ?? transient('unreadable renewal outcome');
      // Past the grace window: Redis keeps only the fact, and the IdP is not asked again.
      if (claim[0] === 'used') return settledNow(STALE);
      return transient('the renewing instance finished without a final outcome');
    } finally {
      stop();
    }
  };

  const hold = async (codec: ReturnType<typeof outcomeCodec>, keys: Keys, owner: string, validUntil: number, refresh: () => Promise<RenewalOutcome>): Promise<Settled> => {
    let settled: Settled;
    try {
      settled = settledNow(await refresh());
    } catch (error) {
      await commands.renewalRelease(keys.lock, owner).catch(unavailable('release'));
      throw error;
    }
    const keepMs = isFinal(settled.outcome) ? Math.max(0, Math.floor(validUntil - now())) : 0;
    const graceMs = Math.max(1, Math.min(staleGraceMs, keepMs));
    // The new tokens go to the caller whatever Redis does here: a stale cookie then costs one more (graceful) refresh.
    const stored = await commands
      .renewalFinish(keys.outcome, keys.used, keys.lock, owner, codec.seal(settled), keepMs, graceMs, channel, codec.id)
      .catch(unavailable('finish'));
    return (stored && codec.open(stored)) || settled;
  };

  return {
    renew: (refreshToken, validUntil, refresh) => local.renewSettled(refreshToken, validUntil, () => shared(refreshToken, validUntil, refresh)),
    async close() {
      subscription.close();
      await local.close();
    },
  };
}
