import { Router } from 'express';
import type { CustomFetch } from 'openid-client';
import { type Logger, createLogger } from '../common/log.js';
import { apiProxy } from './api-proxy.js';
import { authMiddleware } from './auth-middleware.js';
import { backchannelLogout } from './backchannel-logout.js';
import { callback } from './callback.js';
import type { AppConfig } from './config.js';
import { createCookieLifetimes } from './cookie-lifetime.js';
import { type IdpClient, createIdpClient } from './idp-client.js';
import { login } from './login.js';
import { logout, sameOrigin } from './logout.js';
import { createRefresh } from './refresh.js';
import { requireSecureRequest } from './secure-request.js';
import { createSealer } from '../common/sealed.js';
import { createMemoryLogoutStore } from './store/logout-memory.js';
import { createRedisLogoutStore } from './store/logout-redis.js';
import type { LogoutStore } from './store/logout-store.js';
import { createMemoryRenewalStore } from './store/renewal-memory.js';
import { createRedisRenewalStore } from './store/renewal-redis.js';
import { connectRedis } from './store/redis-connection.js';
import type { RenewalStore } from './store/renewal-store.js';
import { createTokenCookie } from './token-cookie.js';
import { createTransactionCookie } from './transaction.js';

export interface BffDeps {
  /** The clock every expiry decision reads (epoch ms); tests move it. */
  now?: () => number;
  logger?: Logger;
  /** Replaces fetch for calls to the IdP. */
  fetch?: CustomFetch;
  /** Replace the stores chosen from the config. */
  renewals?: RenewalStore;
  logouts?: LogoutStore;
}

export interface BffAuth {
  /** Mount it before your routes: the auth middleware plus /login, /signin-oidc, /logout, /backchannel-logout and /bff/api/*. */
  router: Router;
  idp: IdpClient;
  close(): Promise<void>;
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
  const redis = config.redisUrl ? connectRedis(config.redisUrl, config.redisTimeoutMs, logger) : undefined;
  // The lock outlives the refresh call's timeout, so a slow IdP cannot let a second refresh through; a waiter waits no longer than one.
  const staleGraceMs = config.staleCookieGraceMs;
  const renewals =
    deps.renewals ??
    (redis ? createRedisRenewalStore(redis, { lockTtlMs: 2 * config.idpTimeoutMs + 1000, waitMs: config.idpTimeoutMs, now, logger, staleGraceMs }) : createMemoryRenewalStore(now, { staleGraceMs }));
  const logouts = deps.logouts ?? (redis ? createRedisLogoutStore(redis, { now, logger }) : createMemoryLogoutStore(now));
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
  router.use(authMiddleware({ cookie, refresh: createRefresh(idp, now, logger), renewals, logouts, now, logger, lifetimes }));
  router.get('/login', secureRequest, login(config, idp, transactions, now));
  router.get('/signin-oidc', secureRequest, callback(config, idp, transactions, cookie, lifetimes, now, logger));
  router.post('/logout', sameOrigin(config), logout(config, idp, { cookie, logouts, lifetimes, now, logger }));
  router.use('/bff/api', apiProxy(config.apiUrl, config.idpTimeoutMs, logger));

  return {
    router,
    idp,
    async close() {
      await renewals.close();
      await logouts.close();
      // Not quit(): it fails while Redis is away, and nothing pending matters any more.
      redis?.disconnect();
    },
  };
}
