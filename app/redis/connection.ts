import { Redis } from 'ioredis';
import type { Logger } from '../../common/log.js';

/**
 * The app's Redis connection. Every call ends within `timeoutMs`, and fails at once while Redis is away, so the stores
 * can fall back to this process instead of holding requests; ioredis keeps reconnecting meanwhile.
 */
export function connectRedis(url: string, timeoutMs: number, logger: Logger): Redis {
  const redis = new Redis(url, {
    commandTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    disconnectTimeout: timeoutMs,
    // A hung (SIGSTOP'd) server keeps its socket open: drop the socket when it stops answering, and reconnect.
    socketTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A command its caller gave up on must not run later: a late lock would block the next renewal.
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
  });
  logOutages(redis, logger);
  return redis;
}

/** One warning when Redis goes away, one line when it is back: never one per request. */
function logOutages(redis: Redis, logger: Logger) {
  let down = false;
  const lost = (error?: unknown) => {
    if (down) return;
    down = true;
    logger.warn('redis unavailable: renewals and logout records stay in this instance until it is back', { error });
  };
  redis.on('error', lost);
  redis.on('reconnecting', () => lost());
  redis.on('ready', () => {
    if (down) logger.info('redis is back: renewals and logout records are shared again');
    down = false;
  });
}
