/** The renewal policy: pure functions of time and errors, no I/O. */

export function halfLife(issuedAt: number, expiresAt: number): number {
  return issuedAt + (expiresAt - issuedAt) / 2;
}

export function shouldRenew(now: number, issuedAt: number, expiresAt: number): boolean {
  return now >= halfLife(issuedAt, expiresAt);
}

export function isExpired(now: number, expiresAt: number): boolean {
  return now >= expiresAt;
}

/** OAuth errors that mean the refresh token will never work again: the session is over. */
const REFUSALS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

export type FailureKind = 'transient' | 'refused';

/**
 * Refused only when the IdP answered with a definitive OAuth error;
 * network errors, timeouts, 5xx and anything unexpected are transient and retried on the next request.
 */
export function classifyRefreshFailure(error: unknown): FailureKind {
  const { error: code, status } = (error ?? {}) as { error?: unknown; status?: unknown };
  const definitive = typeof code === 'string' && REFUSALS.has(code) && typeof status === 'number' && status < 500;
  return definitive ? 'refused' : 'transient';
}
