import type { Index, StoreBackend, StoredEntry } from './backend.js';

/** In-process backend for tests and throw-away demos: everything is lost on restart. */
export function createMemoryBackend(): StoreBackend {
  const entries = new Map<string, StoredEntry>();
  const keysWhere = (match: (entry: StoredEntry) => boolean) => [...entries].filter(([, entry]) => match(entry)).map(([key]) => key);

  return {
    // Cloned in and out, as if serialised: callers never share objects with the store.
    async put(key, entry) {
      entries.set(key, structuredClone(entry));
    },
    async get(key) {
      return structuredClone(entries.get(key));
    },
    async getByIndex(kind: string, index: Index, hash: string) {
      const [key] = keysWhere((entry) => entry.kind === kind && entry[index] === hash);
      return key === undefined ? undefined : structuredClone(entries.get(key));
    },
    async consume(key, at) {
      const entry = entries.get(key);
      if (!entry || entry.consumedAt !== undefined) return false;
      entry.consumedAt = at;
      return true;
    },
    async delete(key) {
      entries.delete(key);
    },
    async deleteByGrant(grantId, kind) {
      const doomed = keysWhere((entry) => entry.grantId === grantId && (kind === undefined || entry.kind === kind));
      for (const key of doomed) entries.delete(key);
      return doomed.length;
    },
    async grantIdsForAccount(accountId) {
      return keysWhere((entry) => entry.kind === 'Grant' && entry.accountId === accountId).map((key) => entries.get(key)!.grantId!);
    },
    async prune(now) {
      const expired = keysWhere((entry) => entry.expiresAt !== undefined && entry.expiresAt <= now);
      for (const key of expired) entries.delete(key);
      return expired.length;
    },
    async close() {
      entries.clear();
    },
  };
}
