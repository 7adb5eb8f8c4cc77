/** The renewal policy: pure functions of time and errors, no I/O. */
import { IdpAnswerError, IdpRefusalError, IdpUnavailableError, UnusableAnswerError } from '../errors.js';

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

/** The phase of an error as `idpError` left it: ours by class, anything else is a bug. */
export function classifyRefreshFailure(error: unknown): FailurePhase {
  if (error instanceof IdpUnavailableError) return error.sent ? 'unknown' : 'unsent';
  if (error instanceof IdpAnswerError) return 'unknown';
  // Any other OAuth error (temporarily_unavailable, invalid_request…) says nothing about the token: try it again.
  if (error instanceof IdpRefusalError) return REFUSALS.has(error.code) ? 'refused' : 'unknown';
  if (error instanceof UnusableAnswerError) return 'unusable';
  return 'bug';
}

/** Only the network phases keep the session and retry; everything else ends it. */
export function isRetryable(phase: FailurePhase): boolean {
  return phase === 'unsent' || phase === 'unknown';
}
