/**
 * Failed sign-ins counted per key (an account name, a client address). Past a limit the key must wait, the wait
 * doubling with each further failure up to a cap; the count is forgotten after a quiet window, so nobody is locked out for good.
 */

export interface ThrottlePolicy {
  /** Failures allowed before the first wait. */
  maxFailures: number;
  /** The first wait; it doubles with every failure after it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key's failures are forgotten this long after its latest one. */
  windowMs: number;
  /** Keys tracked at most; when full, expired ones go first, then the least recently failed. */
  maxEntries: number;
}

export interface Throttle {
  /** How long the key must still wait before its next attempt is even checked; 0 when it may try now. */
  waitMs(key: string): number;
  fail(key: string): void;
  reset(key: string): void;
  size(): number;
}

interface Entry {
  failures: number;
  lastFailure: number;
}

const MINUTE = 60_000;

/** 5 wrong passwords for one account, then 30 s, 1 min, 2 min… up to 5 min between attempts; forgotten after 15 quiet minutes. */
export const ACCOUNT_POLICY: ThrottlePolicy = { maxFailures: 5, baseDelayMs: 30_000, maxDelayMs: 5 * MINUTE, windowMs: 15 * MINUTE, maxEntries: 10_000 };

/** Looser per address: several people may sign in from behind one NAT, while one address trying many accounts is still slowed down. */
export const ADDRESS_POLICY: ThrottlePolicy = { ...ACCOUNT_POLICY, maxFailures: 20 };

export function delayAfter(failures: number, policy: ThrottlePolicy): number {
  if (failures < policy.maxFailures) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failures - policy.maxFailures));
}

export function createThrottle(policy: ThrottlePolicy, now: () => number): Throttle {
  const entries = new Map<string, Entry>();
  const expired = (entry: Entry, at: number) => at - entry.lastFailure >= policy.windowMs;
  const current = (key: string, at: number) => {
    const entry = entries.get(key);
    if (entry && expired(entry, at)) entries.delete(key);
    return entry && !expired(entry, at) ? entry : undefined;
  };
  const makeRoom = (at: number) => {
    if (entries.size < policy.maxEntries) return;
    for (const [key, entry] of entries) if (expired(entry, at)) entries.delete(key);
    // Map order is insertion order and fail() re-inserts, so the first key is the least recently failed.
    while (entries.size >= policy.maxEntries) entries.delete(entries.keys().next().value!);
  };
  return {
    waitMs(key) {
      const at = now();
      const entry = current(key, at);
      return entry ? Math.max(0, entry.lastFailure + delayAfter(entry.failures, policy) - at) : 0;
    },
    fail(key) {
      const at = now();
      const failures = (current(key, at)?.failures ?? 0) + 1;
      entries.delete(key);
      makeRoom(at);
      entries.set(key, { failures, lastFailure: at });
    },
    reset(key) {
      entries.delete(key);
    },
    size: () => entries.size,
  };
}

export interface LoginThrottle {
  /** Whole seconds before this username may be tried from this address; 0 when it may be tried now. */
  retryAfterS(username: string, address: string): number;
  failed(username: string, address: string): void;
  /** The account's count starts over; the address's does not, or signing in to one's own account would reset it. */
  succeeded(username: string): void;
}

// Keys are the submitted name, whether or not such an account exists: the throttle must not tell them apart.
const accountKey = (username: string) => username.slice(0, 128);

export function createLoginThrottle(now: () => number = Date.now, policies = { account: ACCOUNT_POLICY, address: ADDRESS_POLICY }): LoginThrottle {
  const accounts = createThrottle(policies.account, now);
  const addresses = createThrottle(policies.address, now);
  return {
    retryAfterS: (username, address) => Math.ceil(Math.max(accounts.waitMs(accountKey(username)), addresses.waitMs(address)) / 1000),
    failed(username, address) {
      accounts.fail(accountKey(username));
      addresses.fail(address);
    },
    succeeded(username) {
      accounts.reset(accountKey(username));
    },
  };
}
