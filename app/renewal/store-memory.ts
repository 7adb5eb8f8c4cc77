import type { RenewalOutcome, RenewalStore, Settled } from './store.js';
import { DEFAULT_STALE_GRACE_MS, STALE, isFinal, outcomeCodec, staleAnswer } from './store.js';

export interface MemoryRenewalOptions {
  /** How long a stale cookie still gets the renewed session (store.ts says why 10 s). */
  staleGraceMs?: number;
}

export interface MemoryRenewalStore extends RenewalStore {
  /** Tokens remembered as used: bounded by the renewals of one cookie lifetime. */
  readonly size: number;
  /** `renew` for a layer that settles elsewhere (store-redis.ts): `settle` says when the outcome was settled, so the grace window is not restarted here. */
  renewSettled(refreshToken: string, validUntil: number, settle: () => Promise<Settled>): Promise<RenewalOutcome>;
}

/** Drops entries whose `until` has passed; they arrive in roughly increasing `until` order, so sweeping from the oldest stops early. */
function sweep<T extends { until: number }>(entries: Map<string, T>, now: number) {
  for (const [id, entry] of entries) {
    if (entry.until > now) break;
    entries.delete(id);
  }
}

/**
 * One app instance: flights and outcomes live in this process. The sealed outcome is kept for the stale-cookie grace
 * window only; the fact that the token is used up (no tokens in it) until the old cookie expires.
 */
export function createMemoryRenewalStore(now: () => number = Date.now, { staleGraceMs = DEFAULT_STALE_GRACE_MS }: MemoryRenewalOptions = {}): MemoryRenewalStore {
  const flights = new Map<string, Promise<RenewalOutcome>>();
  const outcomes = new Map<string, { sealed: string; until: number }>();
  const used = new Map<string, { until: number }>();

  const renewSettled = async (refreshToken: string, validUntil: number, settle: () => Promise<Settled>) => {
    const codec = outcomeCodec(refreshToken);
    const stored = outcomes.get(codec.id);
    const settled = stored && stored.until >= now() ? codec.open(stored.sealed) : undefined;
    if (settled) return staleAnswer(settled, now(), staleGraceMs);
    const fact = used.get(codec.id);
    if (fact && fact.until > now()) return STALE;
    let flight = flights.get(codec.id);
    if (!flight) {
      flight = settle()
        .then((result) => {
          sweep(outcomes, now());
          sweep(used, now());
          if (isFinal(result.outcome)) {
            outcomes.set(codec.id, { sealed: codec.seal(result), until: Math.min(result.at + staleGraceMs, validUntil) });
            used.set(codec.id, { until: validUntil });
          }
          // Settled long ago by another instance: these callers hold a stale cookie too.
          return staleAnswer(result, now(), staleGraceMs);
        })
        .finally(() => flights.delete(codec.id));
      flights.set(codec.id, flight);
    }
    return flight;
  };

  return {
    renewSettled,
    renew: (refreshToken, validUntil, refresh) => renewSettled(refreshToken, validUntil, async () => ({ outcome: await refresh(), at: now() })),
    async close() {
      outcomes.clear();
      used.clear();
    },
    get size() {
      return used.size;
    },
  };
}
