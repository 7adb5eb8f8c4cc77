import type { AuthSession } from '../session.js';

/**
 * Logouts the app has been told about — `sid:<id>`, `sub:<id>` (back-channel), `signin:<id>` (POST /logout without a
 * sid) → when — and logout tokens already used (`jti:<id>`). Kept only as long as what they refuse could still be valid.
 */
export interface LogoutStore {
  remember(keys: string[], at: number, keepMs: number): Promise<void>;
  /**
   * The latest logout recorded under any of the keys. Asked on every request: ours answer from memory, at once; a store
   * that returns a promise makes every request wait for it.
   */
  loggedOutAt(keys: readonly string[]): number | undefined | Promise<number | undefined>;
  close(): Promise<void>;
}

type SessionNames = Pick<AuthSession, 'sid' | 'signInId' | 'claims'>;

export function logoutKeys(session: SessionNames): string[] {
  const keys = [`sub:${String(session.claims.sub)}`];
  if (session.sid) keys.push(`sid:${session.sid}`);
  if (session.signInId) keys.push(`signin:${session.signInId}`);
  return keys;
}

/** The key that names this session alone, every copy and renewal of its cookie included: what POST /logout records. */
export function sessionKey(session: SessionNames): string {
  if (session.sid) return `sid:${session.sid}`;
  if (session.signInId) return `signin:${session.signInId}`;
  // A cookie sealed before sessions carried a sign-in id, from an IdP without sid: only the user's key reaches every copy.
  return `sub:${String(session.claims.sub)}`;
}

/** A cookie issued (or renewed) before a logout of its session or user is dead; at once when the store answers at once. */
export function isLoggedOut(store: LogoutStore, session: AuthSession, keys: readonly string[] = logoutKeys(session)): boolean | Promise<boolean> {
  const at = store.loggedOutAt(keys);
  // No closure on the synchronous path: this runs on every request.
  return at instanceof Promise ? at.then((later) => loggedOutSince(later, session.issuedAt)) : loggedOutSince(at, session.issuedAt);
}

const loggedOutSince = (at: number | undefined, issuedAt: number) => at !== undefined && at >= issuedAt;
