import type { Redis } from 'ioredis';
import { type Logger, silentLogger } from '../../common/log.js';
import { createMemoryLogoutStore } from './store-memory.js';
import type { LogoutStore } from './store.js';
import { subscribe } from '../redis/subscription.js';

export interface RedisLogoutOptions {
  now?: () => number;
  prefix?: string;
  logger?: Logger;
}

// Keep the latest logout per key (a late copy must not shorten it), then tell the other instances.
const REMEMBER = `
for _, key in ipairs(KEYS) do
  local held = tonumber(redis.call('get', key))
  if not held or held < tonumber(ARGV[1]) then redis.call('set', key, ARGV[1], 'PX', ARGV[2]) end
end
redis.call('publish', ARGV[3], ARGV[4])`;

interface LogoutCommands {
  logoutRemember(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

interface Published {
  keys: string[];
  at: number;
  keepMs: number;
}

function parsePublished(message: string): Published | undefined {
  try {
    const { keys, at, keepMs } = JSON.parse(message) as Partial<Published>;
    if (Array.isArray(keys) && keys.every((key) => typeof key === 'string') && typeof at === 'number' && typeof keepMs === 'number') return { keys, at, keepMs };
  } catch {
    // Not ours: ignored.
  }
  return undefined;
}

/**
 * Every app instance holds all logout records in process, so the check on every request makes no Redis call.
 * A record is written here first, then to Redis and published to the other instances; each (re)connection loads what
 * Redis holds and writes back what only this instance knows (a logout taken in while Redis was away, or lost in a restart).
 */
export function createRedisLogoutStore(redis: Redis, { now = Date.now, prefix = 'bff:logout:', logger = silentLogger }: RedisLogoutOptions = {}): LogoutStore {
  const local = createMemoryLogoutStore(now);
  const channel = `${prefix}published`;
  redis.defineCommand('logoutRemember', { lua: REMEMBER });
  const commands = redis as Redis & LogoutCommands;

  const write = ({ keys, at, keepMs }: Published) =>
    commands.logoutRemember(keys.length, ...keys.map((key) => prefix + key), at, Math.ceil(keepMs), channel, JSON.stringify({ keys, at, keepMs }));

  const load = async () => {
    const held = new Map<string, number>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const batch = redis.pipeline();
      for (const key of keys) batch.get(key).pttl(key);
      const replies = (await batch.exec()) ?? [];
      keys.forEach((key, i) => {
        const at = Number(replies[2 * i]?.[1]);
        const ttl = Number(replies[2 * i + 1]?.[1]);
        if (!Number.isFinite(at) || ttl <= 0) return;
        const name = key.slice(prefix.length);
        held.set(name, at);
        void local.remember([name], at, ttl);
      });
    } while (cursor !== '0');
    return held;
  };

  const sync = async () => {
    try {
      const held = await load();
      for (const record of local.records()) {
        if (record.keepMs > 0 && (held.get(record.key) ?? -Infinity) < record.at) await write({ keys: [record.key], at: record.at, keepMs: record.keepMs });
      }
    } catch (error) {
      logger.debug('logout records not synchronised with redis', { error });
    }
  };

  const subscription = subscribe(
    redis,
    channel,
    (message) => {
      const published = parsePublished(message);
      if (published) void local.remember(published.keys, published.at, published.keepMs);
    },
    sync,
  );
  // A paused Redis comes back without the subscriber ever reconnecting: the command connection's return counts too.
  const onReady = () => void sync();
  redis.on('ready', onReady);

  return {
    async remember(keys, at, keepMs) {
      await local.remember(keys, at, keepMs);
      // Held here whatever Redis does: the other instances get it now, or at the next reconnection.
      await write({ keys, at, keepMs }).catch((error: unknown) => logger.debug('logout record not written to redis', { error }));
    },
    loggedOutAt: (keys) => local.loggedOutAt(keys),
    async close() {
      redis.off('ready', onReady);
      subscription.close();
      await local.close();
    },
  };
}
