import type { AuthSession } from '../session.js';

/**
 * Back-channel logouts the app has been told about: `sid:<id>` or `sub:<id>` → when.
 * Kept only as long as a cookie issued before the logout could still live.
 */
export interface LogoutStore {
  remember(keys: string[], at: number, keepMs: number): Promise<void>;
  /** The latest logout recorded under any of the keys. */
  loggedOutAt(keys: string[]): Promise<number | undefined>;
}

export function logoutKeys(session: Pick<AuthSession, 'sid' | 'claims'>): string[] {
  const keys = [`sub:${String(session.claims.sub)}`];
  if (session.sid) keys.push(`sid:${session.sid}`);
  return keys;
}

/** A cookie issued (or renewed) before a logout of its sid or sub is dead. */
export async function isLoggedOut(store: LogoutStore, session: AuthSession): Promise<boolean> {
  const at = await store.loggedOutAt(logoutKeys(session));
  return at !== undefined && at >= session.issuedAt;
}
