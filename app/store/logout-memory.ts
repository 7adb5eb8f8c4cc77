import type { LogoutStore } from './logout-store.js';

export function createMemoryLogoutStore(now: () => number = Date.now): LogoutStore {
  const entries = new Map<string, { at: number; until: number }>();
  return {
    async remember(keys, at, keepMs) {
      for (const [key, entry] of entries) if (entry.until <= now()) entries.delete(key);
      for (const key of keys) entries.set(key, { at, until: now() + keepMs });
    },
    async loggedOutAt(keys) {
      if (entries.size === 0) return undefined;
      let latest: number | undefined;
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry && entry.until > now() && (latest === undefined || entry.at > latest)) latest = entry.at;
      }
      return latest;
    },
  };
}
