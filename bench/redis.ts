import { Redis } from 'ioredis';
import { REDIS_SERVER_BINARY, startRedisServer } from '../test/helpers/redis-server.js';
import { existsSync } from 'node:fs';
import { redisReachable } from '../test/helpers/redis.js';

/**
 * The Redis the (b-redis) row runs against. A private redis-server when one is installed: then every command it
 * serves during the rounds is the app's, and `commands()` counts them (a shared Redis also serves whoever else uses it).
 * Otherwise the Redis at `sharedUrl`, uncounted; undefined when neither is there.
 */
export interface BenchRedis {
  url: string;
  /** Commands served since start, our own INFO calls left out; undefined on a shared Redis. */
  commands(): Promise<number | undefined>;
  stop(): Promise<void>;
}

/** `cmdstat_get:calls=3,usec=…` lines of INFO commandstats, summed, INFO itself left out. */
export function countCommands(info: string): number {
  let total = 0;
  for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (name !== 'info') total += Number(calls);
  return total;
}

export async function openBenchRedis(sharedUrl: string): Promise<BenchRedis | undefined> {
  if (existsSync(REDIS_SERVER_BINARY)) {
    const server = await startRedisServer();
    const client = new Redis(server.url);
    return {
      url: server.url,
      commands: async () => countCommands(await client.info('commandstats')),
      async stop() {
        client.disconnect();
        await server.stop();
      },
    };
  }
  if (!(await redisReachable(sharedUrl))) return undefined;
  return { url: sharedUrl, commands: async () => undefined, stop: async () => {} };
}
