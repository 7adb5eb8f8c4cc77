import type { RenewalOutcome, RenewalStore } from './renewal-store.js';
import { isFinal, outcomeCodec } from './renewal-store.js';

export interface MemoryRenewalStore extends RenewalStore {
  /** Outcomes held: bounded by the renewals of one cookie lifetime. */
  readonly size: number;
}

/** One app instance: flights and outcomes live in this process, outcomes only until the old cookie expires. */
export function createMemoryRenewalStore(now: () => number = Date.now): MemoryRenewalStore {
  const flights = new Map<string, Promise<RenewalOutcome>>();
  const outcomes = new Map<string, { sealed: string; until: number }>();

  // Entries arrive in roughly increasing `until` order, so sweeping from the oldest stops early.
  const sweep = () => {
    for (const [id, entry] of outcomes) {
      if (entry.until > now()) break;
      outcomes.delete(id);
    }
  };

  return {
    async renew(refreshToken, validUntil, refresh) {
      const codec = outcomeCodec(refreshToken);
      const stored = outcomes.get(codec.id);
      if (stored && stored.until > now()) {
        const outcome = codec.open(stored.sealed);
        if (outcome) return outcome;
      }
      let flight = flights.get(codec.id);
      if (!flight) {
        flight = refresh()
          .then((outcome) => {
            sweep();
            if (isFinal(outcome)) outcomes.set(codec.id, { sealed: codec.seal(outcome), until: validUntil });
            return outcome;
          })
          .finally(() => flights.delete(codec.id));
        flights.set(codec.id, flight);
      }
      return flight;
    },
    async close() {
      outcomes.clear();
    },
    get size() {
      return outcomes.size;
    },
  };
}
