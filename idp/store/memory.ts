import type { Index, StoreBackend, StoredEntry } from './backend.js';

/** In-process backend for tests and throw-away demos: everything is lost on restart. */
export function createMemoryBackend(): StoreBackend {
  const entries = new Map<string, StoredEntry>();
  // Indexes, so lookups by uid and grant revocation stay O(1) however many tokens pile up.
  const byGrant = new Map<string, Set<string>>();
  const byIndex = new Map<string, string>();
  const indexKey = (kind: string, index: Index, hash: string) => `${kind}|${index}|${hash}`;

  const remove = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    if (entry.grantId) byGrant.get(entry.grantId)?.delete(key);
    for (const index of ['uid', 'userCode'] as const) {
      const hash = entry[index];
      if (hash && byIndex.get(indexKey(entry.kind, index, hash)) === key) byIndex.delete(indexKey(entry.kind, index, hash));
    }
  };

  return {
    // Cloned in and out, as if serialised: callers never share objects with the store.
    async put(key, entry) {
      remove(key);
      entries.set(key, structuredClone(entry));
      if (entry.grantId) byGrant.set(entry.grantId, (byGrant.get(entry.grantId) ?? new Set()).add(key));
      for (const index of ['uid', 'userCode'] as const) {
        const hash = entry[index];
        if (hash) byIndex.set(indexKey(entry.kind, index, hash), key);
      }
    },
    async get(key) {
      return structuredClone(entries.get(key));
    },
    async getByIndex(kind, index, hash) {
      const key = byIndex.get(indexKey(kind, index, hash));
      return key === undefined ? undefined : structuredClone(entries.get(key));
    },
    async consume(key, at) {
      const entry = entries.get(key);
      if (!entry || entry.consumedAt !== undefined) return false;
      entry.consumedAt = at;
      return true;
    },
    async unconsume(key, at) {
      const entry = entries.get(key);
      if (!entry || entry.consumedAt !== at) return false;
      entry.consumedAt = undefined;
      return true;
    },
    async delete(key) {
      remove(key);
    },
    async deleteByGrant(grantId, kind) {
      const doomed = [...(byGrant.get(grantId) ?? [])].filter((key) => kind === undefined || entries.get(key)?.kind === kind);
      for (const key of doomed) remove(key);
      if (byGrant.get(grantId)?.size === 0) byGrant.delete(grantId);
      return doomed.length;
    },
    async grantIdsForAccount(accountId) {
      return [...entries.values()].filter((entry) => entry.kind === 'Grant' && entry.accountId === accountId).map((entry) => entry.grantId!);
    },
    async prune(now) {
      const expired = [...entries].filter(([, entry]) => entry.expiresAt !== undefined && entry.expiresAt <= now).map(([key]) => key);
      for (const key of expired) remove(key);
      return expired.length;
    },
    async close() {
      entries.clear();
      byGrant.clear();
      byIndex.clear();
    },
  };
}
