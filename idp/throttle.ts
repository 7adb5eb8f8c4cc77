/**
 * Sign-in throttling on rate-limiter-flexible. Wrong passwords count per (account, address) and per address: a stranger
 * locks an account out from their own address only, the real user elsewhere still gets in, and trying many names
 * from one address costs what guessing one does. Counts expire on their own (no table to fill, none to flush) and live
 * in Redis when the IdP does, so every instance sees them; anonymous authorization requests are bounded per address too.
 * Memory stays bounded by the address limit: an address refused before its password is checked adds no key.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { RequestHandler } from 'express';
import { connectFailFast } from './store/redis.js';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../common/log.js';
import type { IdpConfig } from './config.js';
import { renderView } from './views.js';

/** At most `points` events per key within `durationS` (whole seconds on Redis) from the key's first; then the key waits until that window ends. */
export interface LimitPolicy {
  points: number;
  durationS: number;
}

export interface ThrottlePolicies {
  /** Wrong passwords for one account from one address. */
  accountAddress: LimitPolicy;
  /** Wrong passwords from one address, whatever the account: bounds guessing, spraying and the keys one address creates. */
  address: LimitPolicy;
  /** Authorization requests per address; each may store an interaction for its 10 minutes, so this bounds them too. */
  authorization: LimitPolicy;
}

const MINUTE = 60;

/** Generous enough for people behind one NAT, tight enough that guessing is slow: 5 per account per 15 min, 50 per hour per address. */
export const DEFAULT_THROTTLE: ThrottlePolicies = {
  accountAddress: { points: 5, durationS: 15 * MINUTE },
  address: { points: 50, durationS: 60 * MINUTE },
  authorization: { points: 100, durationS: 10 * MINUTE },
};

/** The unit an address is counted as: IPv4 as is, IPv6 by its /64 (one subscriber's usual allocation, not one host). */
export function addressKey(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1]!;
  if (isIP(plain) !== 6) return plain;
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group])) : []);
  const [head, tail] = plain.split('::');
  const front = groups(head);
  const full = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - groups(tail).length).fill('0'), ...groups(tail)];
  return `${full.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

// Hashed: the submitted name may be a pasted password, and it must not sit in Redis in clear.
const accountKey = (username: string) => createHash('sha256').update(username).digest('base64url');

export interface LoginThrottle {
  /**
   * Counts an attempt before the password is checked, so parallel guesses cannot all pass a check made before any of them
   * failed: whole seconds to wait when over a limit (nothing may be checked then), 0 when the password may be checked.
   */
  attempt(username: string, address: string): Promise<number>;
  /** Whole seconds before this username may be tried from this address; 0 when it may be tried now. */
  retryAfterS(username: string, address: string): Promise<number>;
  /** The account's count from this address starts over; the address gets back only this attempt's point. */
  succeeded(username: string, address: string): Promise<void>;
}

export interface Throttles {
  login: LoginThrottle;
  /** Mount in front of the authorization endpoint: 429 past the per-address limit. */
  authorization: RequestHandler;
  close(): void;
}

export type LimiterFactory = (name: string, policy: LimitPolicy) => RateLimiterAbstract;
type StoreSettings = Pick<IdpConfig, 'store' | 'redisUrl' | 'redisPrefix' | 'redisCommandTimeoutMs'>;

/** Memory, or Redis when the IdP stores on Redis: a Redis outage falls back to the same limits in this process. */
export async function limiterFactory(config: StoreSettings): Promise<{ create: LimiterFactory; close(): void }> {
  const memory: LimiterFactory = (name, { points, durationS }) => new RateLimiterMemory({ keyPrefix: name, points, duration: durationS });
  if (config.store !== 'redis' || !config.redisUrl) return { create: memory, close() {} };
  // No offline queue: while Redis is away a count goes straight to the in-process insurance limiter instead of waiting.
  const redis = await connectFailFast(config.redisUrl, config.redisCommandTimeoutMs);
  return {
    create: (name, policy) =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix: `${config.redisPrefix}throttle:${name}`, points: policy.points, duration: policy.durationS, insuranceLimiter: memory(name, policy) }),
    close: () => redis.disconnect(),
  };
}

const waitMs = (state: RateLimiterRes | null, policy: LimitPolicy) => (state && state.consumedPoints >= policy.points ? state.msBeforeNext : 0);

export function createLoginThrottle(create: LimiterFactory, policies: ThrottlePolicies): LoginThrottle {
  const pairs = create('login-account', policies.accountAddress);
  const addresses = create('login-address', policies.address);
  const pair = (username: string, address: string) => `${accountKey(username)}:${addressKey(address)}`;
  return {
    async attempt(username, address) {
      const counted = await Promise.allSettled([pairs.consume(pair(username, address)), addresses.consume(addressKey(address))]);
      // A rejection that is no RateLimiterRes is a store error, which the insurance limiter already absorbs.
      const over = counted.flatMap((result) => (result.status === 'rejected' && result.reason instanceof RateLimiterRes ? [result.reason.msBeforeNext] : []));
      return over.length ? Math.ceil(Math.max(...over) / 1000) : 0;
    },
    async retryAfterS(username, address) {
      const [forPair, forAddress] = await Promise.all([pairs.get(pair(username, address)), addresses.get(addressKey(address))]);
      return Math.ceil(Math.max(waitMs(forPair, policies.accountAddress), waitMs(forAddress, policies.address)) / 1000);
    },
    async succeeded(username, address) {
      await Promise.all([pairs.delete(pair(username, address)), addresses.reward(addressKey(address))]);
    },
  };
}

function authorizationThrottle(limiter: RateLimiterAbstract, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const address = addressKey(req.ip ?? 'unknown');
    // A rejection that is no RateLimiterRes is a store error, which the insurance limiter already absorbs.
    const refused = await limiter.consume(address).then(
      () => undefined,
      (rejection: unknown) => (rejection instanceof RateLimiterRes ? rejection : undefined),
    );
    if (!refused) return next();
    const wait = Math.ceil(refused.msBeforeNext / 1000);
    // Once per window, not once per request: a flood must not become a flood of log lines.
    if (refused.consumedPoints === limiter.points + 1) logger.warn('authorization requests throttled', { address, retryAfterS: wait });
    res.set('Retry-After', String(wait)).status(429).type('html');
    res.send(await renderView('message', { heading: 'Too many sign-in attempts', message: `Too many sign-in requests from your network. Try again in ${wait} s.`, tone: 'error' }));
  };
}

export async function createThrottles(config: StoreSettings, policies: ThrottlePolicies, logger: Logger): Promise<Throttles> {
  const { create, close } = await limiterFactory(config);
  return {
    login: createLoginThrottle(create, policies),
    authorization: authorizationThrottle(create('authorization', policies.authorization), logger),
    close,
  };
}
