import type { AuthSession } from '../session.js';

/**
 * The longest auth-cookie lifetime this process has seen, issued (sign-in, renewal) or presented (a cookie from another
 * instance, or from before a restart): logout records must outlive every cookie they may have to refuse, and this is
 * derived from the tokens themselves rather than set beside them, so a longer access-token TTL at the IdP cannot outrun it.
 */
export interface CookieLifetimes {
  observe(session: Pick<AuthSession, 'issuedAt' | 'expiresAt'>): void;
  /** The longest lifetime seen, or `unknownMs` while no cookie has been seen. */
  longestMs(): number;
}

/** Before any cookie is seen nothing bounds the lifetimes out there: a day, since a logout record is a few bytes. */
export const UNKNOWN_LIFETIME_MS = 24 * 3600 * 1000;

export function createCookieLifetimes(unknownMs = UNKNOWN_LIFETIME_MS): CookieLifetimes {
  let longest: number | undefined;
  return {
    observe({ issuedAt, expiresAt }) {
      if (longest === undefined || expiresAt - issuedAt > longest) longest = expiresAt - issuedAt;
    },
    longestMs: () => longest ?? unknownMs,
  };
}
