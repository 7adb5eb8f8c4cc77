import { Router } from 'express';
import type { CustomFetch } from 'openid-client';
import { type Logger, createLogger } from '../common/log.js';
import { apiProxy } from './api-proxy.js';
import { authMiddleware } from './renewal/middleware.js';
import { backchannelLogout } from './logout/backchannel-logout.js';
import { callback } from './sign-in/callback.js';
import type { AppConfig } from './config.js';
import { createCookieLifetimes } from './cookie/lifetime.js';
import { type IdpClient, createIdpClient } from './idp-client.js';
import { login } from './sign-in/login.js';
import { logout, sameOrigin } from './logout/logout.js';
import { createRefresh } from './renewal/refresh.js';
import { requireSecureRequest } from './secure-request.js';
import { createSealer } from '../common/sealed.js';
import { createMemoryLogoutStore } from './logout/store-memory.js';
import { createRedisLogoutStore } from './logout/store-redis.js';
import type { LogoutStore } from './logout/store.js';
import { createMemoryRenewalStore } from './renewal/store-memory.js';
import { createRedisRenewalStore } from './renewal/store-redis.js';
import { connectRedis } from './redis/connection.js';
import type { RenewalStore } from './renewal/store.js';
import { createTokenCookie } from './cookie/auth-cookie.js';
import { createTransactionCookie } from './cookie/transaction.js';

export interface BffDeps {
  /** The clock every expiry decision reads (epoch ms); tests move it. */
  now?: () => number;
  logger?: Logger;
  /** Replaces fetch for calls to the IdP. */
  fetch?: CustomFetch;
  /** Replace the stores chosen from the config. */
  renewalStore?: RenewalStore;
  logouts?: LogoutStore;
}

export interface BffAuth {
  /** Mount it before your routes: the auth middleware plus /login, /signin-oidc, /logout, /backchannel-logout and /bff/api/*. */
  router: Router;
  idp: IdpClient;
  close(): Promise<void>;
}

export interface StoreOptions {
  now: () => number;
  logger: Logger;
  /** Used instead of the store the config would pick. */
  renewalStore?: RenewalStore;
  logouts?: LogoutStore;
}

/** The renewal and logout stores the config asks for: in this process, or shared through Redis (REDIS_URL). */
export function openStores(config: AppConfig, { now, logger, renewalStore, logouts }: StoreOptions) {
  const redis = config.redisUrl ? connectRedis(config.redisUrl, config.redisTimeoutMs, logger) : undefined;
  const staleGraceMs = config.staleCookieGraceMs;
  // The lock outlives the refresh call's timeout, so a slow IdP cannot let a second refresh through; a waiter waits no longer than one.
  renewalStore ??= redis
    ? createRedisRenewalStore(redis, { lockTtlMs: 2 * config.idpTimeoutMs + 1000, waitMs: config.idpTimeoutMs, now, logger, staleGraceMs })
    : createMemoryRenewalStore(now, { staleGraceMs });
  logouts ??= redis ? createRedisLogoutStore(redis, { now, logger }) : createMemoryLogoutStore(now);
  // Not quit(): it fails while Redis is away, and nothing pending matters any more.
  return { renewalStore, logouts, disconnect: () => redis?.disconnect() };
}

/**
 * The BFF pattern as one router any Express app can mount: pages then read `req.auth` and guard with `requireAuth`.
 * Sign-in problems are thrown as `PageError`s for the host's error handler to render. Behind a reverse proxy the host
 * sets `app.set('trust proxy', config.trustProxy)` on its own app: a router cannot.
 */
export async function createBffAuth(config: AppConfig, deps: BffDeps = {}): Promise<BffAuth> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger('app', config.logLevel);
  const secure = config.baseUrl.protocol === 'https:';
  const idp = createIdpClient(config, { fetch: deps.fetch });
  const { renewalStore, logouts, disconnect } = openStores(config, { now, logger, renewalStore: deps.renewalStore, logouts: deps.logouts });
  const cookie = createTokenCookie({
    secure,
    mode: config.cookieMode,
    sealer: createSealer(config.cookieKeys, 'auth-cookie'),
    cacheEntries: config.cookieCacheEntries,
    now,
    maxBytes: config.cookieMaxBytes,
  });
  const transactions = createTransactionCookie(secure, createSealer(config.cookieKeys, 'transaction'));

  // Logout records outlive every cookie this instance has issued or been shown.
  const lifetimes = createCookieLifetimes();
  const secureRequest = requireSecureRequest(config, logger);

  const router = Router();
  // Before the auth middleware: the IdP's server-to-server call carries no cookie.
  router.use('/backchannel-logout', backchannelLogout(config, idp, logouts, lifetimes, now, logger));
  router.use(authMiddleware({ cookie, refresh: createRefresh(idp, now, logger), renewalStore, logouts, now, logger, lifetimes }));
  router.get('/login', secureRequest, login(config, idp, transactions, now));
  router.get('/signin-oidc', secureRequest, callback(config, idp, transactions, cookie, lifetimes, now, logger));
  router.post('/logout', sameOrigin(config), logout(config, idp, { cookie, logouts, lifetimes, now, logger }));
  router.use('/bff/api', apiProxy(config.apiUrl, config.idpTimeoutMs, logger));

  return {
    router,
    idp,
    async close() {
      await renewalStore.close();
      await logouts.close();
      disconnect();
    },
  };
}
