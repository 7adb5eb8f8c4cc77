import { type ChainableCommander, Redis } from 'ioredis';
import { ConfigError } from '../../common/errors.js';
import type { Index, StoreBackend, StoredEntry } from './backend.js';

// Only a live, unused entry: a plain HSET would resurrect a deleted or expired one, without a TTL.
const CONSUME = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], 'consumedAt', ARGV[1]) end return 0";

// Only the use made at that moment, of an entry still there: a revoked token is never brought back.
const UNCONSUME = "if redis.call('HGET', KEYS[1], 'consumedAt') == ARGV[1] then return redis.call('HDEL', KEYS[1], 'consumedAt') end return 0";

type ConsumingRedis = Redis & { consume(key: string, at: number): Promise<number>; unconsume(key: string, at: number): Promise<number> };

export interface RedisBackendOptions {
  /** Every command is answered within this or fails. */
  commandTimeoutMs: number;
  /** Accept a Redis that keeps nothing across a restart (tests, throw-away demos). */
  allowVolatile: boolean;
}

/** A restart of a Redis without RDB snapshots or an append-only file signs every user out: refuse it unless allowed. */
async function requirePersistence(redis: Redis) {
  const config = await redis.call('CONFIG', 'GET', 'appendonly').then(
    async (aof) => ({ aof: (aof as string[])[1] === 'yes', save: ((await redis.call('CONFIG', 'GET', 'save')) as string[])[1] ?? '' }),
    () => undefined,
  );
  if (!config) throw new ConfigError('cannot read the Redis persistence settings (CONFIG GET is refused); if it persists, set IDP_REDIS_ALLOW_VOLATILE=true');
  if (!config.aof && config.save.trim() === '') {
    throw new ConfigError('Redis keeps no data across a restart (no appendonly, no save): start it with --appendonly yes, or set IDP_REDIS_ALLOW_VOLATILE=true');
  }
}

/** The IdP's Redis connection, connected: every command answered within `commandTimeoutMs` or failed, never queued or replayed. */
export async function connectFailFast(url: string, commandTimeoutMs: number, keyPrefix?: string): Promise<Redis> {
  const redis = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    // Fail fast and never replay: a command queued through an outage would complete a refresh after its caller gave up.
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  });
  // ioredis reconnects by itself; without a listener each failed attempt would be an unhandled 'error' event.
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}

/**
 * Entries are hashes (`entry` JSON + `consumedAt`) that expire natively. Secondary keys, all expiring with what
 * they point to: `grant:<grantId>` (set of entry keys), `account:<accountId>` (set of grant ids) and
 * `<index>:<kind>:<hash>` (entry key, for lookups by Session uid or user code).
 */
export async function openRedisBackend(url: string, prefix: string, { commandTimeoutMs, allowVolatile }: RedisBackendOptions): Promise<StoreBackend> {
  const redis = (await connectFailFast(url, commandTimeoutMs, prefix)) as ConsumingRedis;
  redis.defineCommand('consume', { numberOfKeys: 1, lua: CONSUME });
  redis.defineCommand('unconsume', { numberOfKeys: 1, lua: UNCONSUME });
  if (!allowVolatile) await requirePersistence(redis).catch(async (error: unknown) => {
    redis.disconnect();
    throw error;
  });

  const get = async (key: string): Promise<StoredEntry | undefined> => {
    const { entry, consumedAt } = await redis.hgetall(key);
    if (!entry) return undefined;
    return { ...(JSON.parse(entry) as StoredEntry), ...(consumedAt ? { consumedAt: Number(consumedAt) } : {}) };
  };

  return {
    async put(key, entry) {
      const { consumedAt, ...rest } = entry;
      const tx = redis.multi().del(key).hset(key, { entry: JSON.stringify(rest), ...(consumedAt === undefined ? {} : { consumedAt }) });
      expireAt(tx, key, entry.expiresAt);
      if (entry.uid) lookup(tx, `uid:${entry.kind}:${entry.uid}`, key, entry.expiresAt);
      if (entry.userCode) lookup(tx, `userCode:${entry.kind}:${entry.userCode}`, key, entry.expiresAt);
      if (entry.grantId) addToSet(tx, `grant:${entry.grantId}`, key, entry.expiresAt);
      if (entry.kind === 'Grant' && entry.grantId && entry.accountId) addToSet(tx, `account:${entry.accountId}`, entry.grantId, entry.expiresAt);
      await tx.exec();
    },
    get,
    async getByIndex(kind: string, index: Index, hash: string) {
      const key = await redis.get(`${index}:${kind}:${hash}`);
      // A lookup left behind by a deleted entry resolves to nothing, and expires with it.
      return key === null ? undefined : get(key);
    },
    async consume(key, at) {
      return (await redis.consume(key, at)) === 1;
    },
    async unconsume(key, at) {
      return (await redis.unconsume(key, at)) === 1;
    },
    async delete(key) {
      await redis.del(key);
    },
    async deleteByGrant(grantId, kind) {
      const set = `grant:${grantId}`;
      const members = await redis.smembers(set);
      const doomed = kind === undefined ? members : members.filter((key) => key.startsWith(`${kind}:`));
      if (doomed.length === 0) return 0;
      const deleted = await redis.del(...doomed);
      await (kind === undefined ? redis.del(set) : redis.srem(set, ...doomed));
      return deleted;
    },
    async grantIdsForAccount(accountId) {
      const grantIds = await redis.smembers(`account:${accountId}`);
      const live = await Promise.all(grantIds.map((grantId) => redis.exists(`grant:${grantId}`)));
      return grantIds.filter((_, i) => live[i] === 1);
    },
    async prune() {
      return 0; // Redis expires entries and indexes itself.
    },
    async close() {
      // quit() needs a live connection; while Redis is away there is nothing left to flush anyway.
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function expireAt(tx: ChainableCommander, key: string, expiresAt: number | undefined) {
  if (expiresAt !== undefined) tx.pexpireat(key, expiresAt);
}

function lookup(tx: ChainableCommander, key: string, target: string, expiresAt: number | undefined) {
  tx.set(key, target);
  expireAt(tx, key, expiresAt);
}

/** An index set lives as long as its longest-lived member. */
function addToSet(tx: ChainableCommander, set: string, member: string, expiresAt: number | undefined) {
  tx.sadd(set, member);
  if (expiresAt === undefined) tx.persist(set);
  else tx.pexpireat(set, expiresAt, 'NX').pexpireat(set, expiresAt, 'GT');
}
