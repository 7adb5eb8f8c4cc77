import type { LogoutStore } from './store.js';

export interface LogoutRecord {
  key: string;
  at: number;
  keepMs: number;
}

export interface MemoryLogoutStore extends LogoutStore {
  /** Every record still held, with the time it has left: what this instance would give a shared store. */
  records(): LogoutRecord[];
}

export function createMemoryLogoutStore(now: () => number = Date.now): MemoryLogoutStore {
  const entries = new Map<string, { at: number; until: number }>();
  const sweep = () => {
    for (const [key, entry] of entries) if (entry.until <= now()) entries.delete(key);
  };
  return {
    async remember(keys, at, keepMs) {
      sweep();
      const until = now() + keepMs;
      // Copies from other instances may arrive late or twice: the latest logout, kept the longest, wins.
      for (const key of keys) {
        const held = entries.get(key);
        entries.set(key, { at: Math.max(at, held?.at ?? at), until: Math.max(until, held?.until ?? until) });
      }
    },
    loggedOutAt(keys) {
      if (entries.size === 0) return undefined;
      let latest: number | undefined;
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry && entry.until > now() && (latest === undefined || entry.at > latest)) latest = entry.at;
      }
      return latest;
    },
    records() {
      sweep();
      return [...entries].map(([key, { at, until }]) => ({ key, at, keepMs: until - now() }));
    },
    async close() {
      entries.clear();
    },
  };
}
