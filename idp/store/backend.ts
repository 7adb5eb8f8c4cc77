import type { AdapterPayload } from 'oidc-provider';

/**
 * One oidc-provider entity as the backends keep it. Its key is `<kind>:<sha256(id)>` and neither the key nor
 * the entry holds the raw id: a leaked store yields no usable token, code or session cookie.
 */
export interface StoredEntry {
  /** oidc-provider model name: AccessToken, RefreshToken, Session, Grant… */
  kind: string;
  /** The model payload without `jti` and other raw secrets (see adapter.ts). */
  payload: AdapterPayload;
  /** Set on every token of a grant, and on the Grant itself, so a grant is revoked in one call. */
  grantId?: string;
  accountId?: string;
  clientId?: string;
  /** SHA-256 of the Session uid (oidc-provider looks sessions up by it). */
  uid?: string;
  /** SHA-256 of a device flow user code. */
  userCode?: string;
  /** Epoch ms; unset means no expiry. */
  expiresAt?: number;
  /** Epoch ms when a one-time artifact (code, refresh token) was used. */
  consumedAt?: number;
}

export type Index = 'uid' | 'userCode';

/** The small storage interface the oidc-provider adapter runs on: memory, SQLite and Redis implement it. */
export interface StoreBackend {
  /** Insert or replace. */
  put(key: string, entry: StoredEntry): Promise<void>;
  /** The entry even if expired: the adapter decides, with its clock. */
  get(key: string): Promise<StoredEntry | undefined>;
  getByIndex(kind: string, index: Index, hash: string): Promise<StoredEntry | undefined>;
  /** Marks the entry used, keeping its expiry, atomically: true for the one call that did, false if already used or gone. */
  consume(key: string, at: number): Promise<boolean>;
  /** Undoes the consume made at `at`, atomically: true for the one call that did; false if the entry is gone or was used at another time. */
  unconsume(key: string, at: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Deletes the grant's entries of one kind, or with no kind every entry of the grant, the Grant included; returns how many. */
  deleteByGrant(grantId: string, kind?: string): Promise<number>;
  /** Ids of the Grants stored for an account (operator revocation). */
  grantIdsForAccount(accountId: string): Promise<string[]>;
  /** Deletes entries expired at `now` (epoch ms) and returns how many it removed. */
  prune(now: number): Promise<number>;
  close(): Promise<void>;
}
