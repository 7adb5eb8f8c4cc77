import { createHash } from 'node:crypto';
import { openWith, sealWith, sealingKey } from '../../common/sealed.js';
import type { AuthSession } from '../session.js';

export type RenewalOutcome =
  | { kind: 'renewed'; session: AuthSession }
  | { kind: 'transient'; reason: string }
  | { kind: 'refused'; reason: string };

/**
 * Single flight per refresh token: `refresh` runs at most once per token at a time, concurrent callers
 * share its outcome, and callers with the same (now stale) token get the stored outcome until `validUntil`
 * without calling the IdP again — a second use of a rotated refresh token would revoke the whole grant.
 */
export interface RenewalStore {
  renew(refreshToken: string, validUntil: number, refresh: () => Promise<RenewalOutcome>): Promise<RenewalOutcome>;
  close(): Promise<void>;
}

/** Outcomes are stored under the token's hash and sealed with a key derived from the token itself: only a holder of the old cookie can read them. */
export function outcomeCodec(refreshToken: string) {
  const key = sealingKey(refreshToken, 'renewal-outcome');
  return {
    id: createHash('sha256').update(refreshToken).digest('base64url'),
    seal: (outcome: RenewalOutcome) => sealWith(key, outcome),
    open: (sealed: string) => openWith([key], sealed) as RenewalOutcome | undefined,
  };
}

/** Transient failures are not kept: the next request must try again. */
export function isFinal(outcome: RenewalOutcome): boolean {
  return outcome.kind !== 'transient';
}
