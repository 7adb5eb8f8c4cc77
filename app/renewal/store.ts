import { createHash } from 'node:crypto';
import { openWith, sealWith, sealingKey } from '../../common/sealed.js';
import type { AuthSession } from '../session.js';

export type RenewalOutcome =
  | { kind: 'renewed'; session: AuthSession }
  | { kind: 'transient'; reason: string }
  | { kind: 'refused'; reason: string }
  /** The cookie is older than the stale-cookie grace: anonymous, and left alone (the browser may hold the renewed one). */
  | { kind: 'stale'; reason: string };

/**
 * Single flight per refresh token: `refresh` runs at most once per token at a time, concurrent callers share its
 * outcome, and callers with the same (now stale) token get the stored outcome for `staleGraceMs`, then `stale` until
 * `validUntil` — never a second call to the IdP, whose answer to a used refresh token is a revoked grant, or (within its
 * reuse grace) the rotated tokens handed to whoever holds the old cookie.
 */
export interface RenewalStore {
  renew(refreshToken: string, validUntil: number, refresh: () => Promise<RenewalOutcome>): Promise<RenewalOutcome>;
  close(): Promise<void>;
}

/**
 * How long a stale cookie still gets the renewed session. Only requests the browser sent before the renewal's Set-Cookie
 * reached it need that (those arriving while the refresh runs share it): late by a round trip or two. The concurrency
 * test sends one 2 s late (it fails below 2 s), the Redis chaos suite its stale cookies 10 s late to the other instance;
 * 10 s also covers a slow mobile link. Every second more hands a stolen old copy the rotated tokens for longer.
 */
export const DEFAULT_STALE_GRACE_MS = 10_000;

/** An outcome and when it was settled: what the stores keep and publish, sealed. */
export interface Settled {
  outcome: RenewalOutcome;
  at: number;
}

/** What is remembered of a token past the grace window, until its cookie expires: no tokens, just the fact. */
export const STALE: RenewalOutcome = { kind: 'stale', reason: 'a cookie older than the stale-cookie grace: its refresh token was already renewed or refused' };

/** The answer for a stale cookie: the settled outcome within the grace window, afterwards only the fact that its token is used up. */
export function staleAnswer({ outcome, at }: Settled, now: number, staleGraceMs: number): RenewalOutcome {
  return now - at <= staleGraceMs ? outcome : STALE;
}

/** Outcomes are stored under the token's hash and sealed with a key derived from the token itself: only a holder of the old cookie can read them. */
export function outcomeCodec(refreshToken: string) {
  const key = sealingKey(refreshToken, 'renewal-outcome');
  return {
    id: createHash('sha256').update(refreshToken).digest('base64url'),
    seal: (settled: Settled) => sealWith(key, settled),
    open: (sealed: string) => openWith([key], sealed) as Settled | undefined,
  };
}

/** Transient failures are not kept: the next request must try again. */
export function isFinal(outcome: RenewalOutcome): boolean {
  return outcome.kind !== 'transient';
}
