import { createHash } from 'node:crypto';
import { type Adapter, type AdapterFactory, type AdapterPayload, errors } from 'oidc-provider';
import type { Logger } from '../../common/log.js';
import type { StoreBackend, StoredEntry } from './backend.js';

/** Expired entries are swept at most this often, piggybacking on writes. */
export const PRUNE_INTERVAL_MS = 60_000;

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** oidc-provider hands the adapter raw token values as ids: only their hash is ever stored. */
export function entryKey(kind: string, id: string): string {
  return `${kind}:${sha256(id)}`;
}

/** A concurrent request used the token after oidc-provider checked it. */
export class RefreshRaceError extends errors.InvalidGrant {
  constructor(kind: string) {
    super(`${kind} already used`);
  }
}

export interface AdapterOptions {
  now?: () => number;
  logger?: Logger;
  /**
   * What the loser of two concurrent uses of one token does. `revoke`: the grant, as oidc-provider does for later
   * reuse (RFC 9700); `wait`: nothing, the reuse grace window (refresh-grace.ts) hands it the winner's answer.
   */
  onRace?: 'revoke' | 'wait';
}

/**
 * The one oidc-provider adapter, over any backend. Entries found by uid or user code come back without `jti`:
 * the raw id is not stored, and oidc-provider only reads those entries.
 */
export function createAdapterFactory(backend: StoreBackend, { now = Date.now, logger, onRace = 'revoke' }: AdapterOptions = {}): AdapterFactory {
  let lastPrune = -Infinity;
  // Not awaited: the write that starts a sweep does not wait for it, and a failed sweep fails no grant.
  const pruneNowAndThen = () => {
    if (now() - lastPrune < PRUNE_INTERVAL_MS) return;
    lastPrune = now();
    backend.prune(lastPrune).catch((error: unknown) => logger?.warn('pruning expired entries failed', { error }));
  };
  const live = (entry: StoredEntry | undefined) => (entry && (entry.expiresAt === undefined || entry.expiresAt > now()) ? entry : undefined);

  return (kind: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      pruneNowAndThen();
      await backend.put(entryKey(kind, id), toEntry(kind, id, payload, expiresIn === undefined ? undefined : now() + expiresIn * 1000));
    },
    async find(id) {
      return toPayload(live(await backend.get(entryKey(kind, id))), id);
    },
    async findByUid(uid) {
      return toPayload(live(await backend.getByIndex(kind, 'uid', sha256(uid))));
    },
    async findByUserCode(userCode) {
      return toPayload(live(await backend.getByIndex(kind, 'userCode', sha256(userCode))));
    },
    async consume(id) {
      const key = entryKey(kind, id);
      if (await backend.consume(key, now())) return;
      // Of two racing uses at most one wins; the loser is reuse, unless the grace window will answer it.
      const grantId = (await backend.get(key))?.grantId;
      // Only refresh tokens wait for the winner's answer: a code used twice revokes its grant (RFC 6749 §4.1.2).
      if (grantId && (onRace === 'revoke' || kind !== 'RefreshToken')) {
        await backend.deleteByGrant(grantId);
        logger?.warn('grant revoked', { grantId, reason: `${kind} used by two requests at once` });
      }
      throw new RefreshRaceError(kind);
    },
    async destroy(id) {
      await backend.delete(entryKey(kind, id));
    },
    async revokeByGrantId(grantId) {
      await backend.deleteByGrant(grantId, kind);
    },
  });
}

function toEntry(kind: string, id: string, payload: AdapterPayload, expiresAt: number | undefined): StoredEntry {
  const { jti: _rawId, consumed, ...stored } = payload;
  // Interactions copy the session id (the session cookie's value) into `session.cookie`; nothing reads it back.
  if (stored.session) {
    const { cookie: _sessionId, ...session } = stored.session;
    stored.session = session;
  }
  return {
    kind,
    payload: stored,
    grantId: kind === 'Grant' ? id : stored.grantId,
    accountId: stored.accountId,
    clientId: stored.clientId,
    uid: stored.uid ? sha256(stored.uid) : undefined,
    userCode: stored.userCode ? sha256(stored.userCode) : undefined,
    expiresAt,
    consumedAt: typeof consumed === 'number' ? consumed * 1000 : undefined,
  };
}

function toPayload(entry: StoredEntry | undefined, id?: string): AdapterPayload | undefined {
  if (!entry) return undefined;
  return {
    ...entry.payload,
    ...(id === undefined ? {} : { jti: id }),
    ...(entry.consumedAt === undefined ? {} : { consumed: Math.floor(entry.consumedAt / 1000) }),
  };
}
