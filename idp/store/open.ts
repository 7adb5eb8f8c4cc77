import path from 'node:path';
import { ConfigError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { IdpConfig } from '../config.js';
import type { StoreBackend } from './backend.js';
import { createMemoryBackend } from './memory.js';
import { openRedisBackend } from './redis.js';
import { createSqliteBackend } from './sqlite.js';

/** The backend `IDP_STORE` names. The IdP and the operator CLI open the same one. */
export type StoreConfig = Pick<IdpConfig, 'store' | 'dataDir' | 'redisUrl' | 'redisPrefix' | 'redisAllowVolatile' | 'redisCommandTimeoutMs'>;

export async function openStore(config: StoreConfig, { logger }: { logger?: Logger } = {}): Promise<StoreBackend> {
  switch (config.store) {
    case 'memory':
      return createMemoryBackend();
    case 'sqlite':
      return createSqliteBackend(path.join(config.dataDir, 'oidc.sqlite'), { logger });
    case 'redis':
      if (!config.redisUrl) throw new ConfigError('IDP_STORE=redis needs REDIS_URL');
      return openRedisBackend(config.redisUrl, config.redisPrefix, { commandTimeoutMs: config.redisCommandTimeoutMs, allowVolatile: config.redisAllowVolatile });
  }
}
