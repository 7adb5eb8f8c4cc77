import { type ChainableCommander, Redis } from 'ioredis';
import type { Index, StoreBackend, StoredEntry } from './backend.js';

// Only a live, unused entry: a plain HSET would resurrect a deleted or expired one, without a TTL.
const CONSUME = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('HSETNX', KEYS[1], 'consumedAt', ARGV[1]) end return 0";

type ConsumingRedis = Redis & { consume(key: string, at: number): Promise<number> };

/**
 * Entries are hashes (`entry` JSON + `consumedAt`) that expire natively. Secondary keys, all expiring with what
 * they point to: `grant:<grantId>` (set of entry keys), `account:<accountId>` (set of grant ids) and
 * `<index>:<kind>:<hash>` (entry key, for lookups by Session uid or user code).
 */
export function createRedisBackend(url: string, prefix: string): StoreBackend {
  const redis = new Redis(url, { keyPrefix: prefix }) as ConsumingRedis;
  redis.defineCommand('consume', { numberOfKeys: 1, lua: CONSUME });

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
      await redis.quit();
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
