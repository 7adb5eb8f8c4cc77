import type { Redis } from 'ioredis';
import type { LogoutStore } from './logout-store.js';

/** Shared by every app instance, expiring natively. */
export function createRedisLogoutStore(redis: Redis, prefix = 'bff:logout:'): LogoutStore {
  return {
    async remember(keys, at, keepMs) {
      const batch = redis.multi();
      for (const key of keys) batch.set(prefix + key, String(at), 'PX', keepMs);
      await batch.exec();
    },
    async loggedOutAt(keys) {
      const values = await redis.mget(keys.map((key) => prefix + key));
      const times = values.filter((value): value is string => value !== null).map(Number);
      return times.length ? Math.max(...times) : undefined;
    },
  };
}
