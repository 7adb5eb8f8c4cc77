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
/** The connection was never made: the IdP cannot have seen the request. */
const UNSENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);
/** openid-client's codes for an answer that arrived but cannot be trusted. */
const UNUSABLE = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_PARSE_ERROR',
  'OAUTH_KEY_SELECTION_FAILED',
]);

/**
 * How far a failed refresh got, which decides what happens next (the README's table):
 * - `unsent`: never reached the IdP — retry later with the same token.
 * - `unknown`: sent, no usable answer (timeout, reset, 5xx, a proxy's page) — the IdP may have rotated; retry with the
 *   same token, which its reuse grace window answers with the first answer.
 * - `refused`: the IdP said no (invalid_grant…) — the session is over.
 * - `unusable`: an answer arrived but fails validation or belongs to someone else — the session is over, a security event.
 * - `bug`: our own programming error — the session is over and it is logged as an error, never retried forever.
 */
export type FailurePhase = 'unsent' | 'unknown' | 'refused' | 'unusable' | 'bug';

/** Thrown by the app itself when a token response is complete but cannot be this session's (missing tokens, other `sub`). */
export class UnusableAnswerError extends Error {
  override name = 'UnusableAnswerError';
}

export function classifyRefreshFailure(error: unknown): FailurePhase {
  if (error instanceof UnusableAnswerError) return 'unusable';
  const { error: oauthError, status, code, cause, message, name } = (error ?? {}) as Record<string, unknown>;
  // openid-client wraps what it does not recognise (a fetch error from another realm, say) without a code: judge the cause.
  if (name === 'ClientError' && code === undefined && cause !== undefined) return classifyRefreshFailure(cause);
  if (typeof oauthError === 'string' && typeof status === 'number') {
    return REFUSALS.has(oauthError) && status < 500 ? 'refused' : 'unknown';
  }
  // undici reports every network failure as TypeError('fetch failed') with the socket error as its cause; by name,
  // not instanceof: fetch's errors may come from another realm (a VM context, a worker).
  if (name === 'TypeError' && message === 'fetch failed') {
    const causeCode = (cause as { code?: unknown } | undefined)?.code;
    return typeof causeCode === 'string' && UNSENT.has(causeCode) ? 'unsent' : 'unknown';
  }
  if (typeof code === 'string') {
    if (UNUSABLE.has(code)) return 'unusable';
    if (code.startsWith('OAUTH_')) return 'unknown';
  }
  return 'bug';
}

/** Only the network phases keep the session and retry; everything else ends it. */
export function isRetryable(phase: FailurePhase): boolean {
  return phase === 'unsent' || phase === 'unknown';
}
