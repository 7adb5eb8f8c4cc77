import express, { type ErrorRequestHandler } from 'express';
import type { CustomFetch } from 'openid-client';
import helmet from 'helmet';
import { fileURLToPath } from 'node:url';
import { type Logger, createLogger } from '../common/log.js';
import { apiProxy } from './api-proxy.js';
import { authMiddleware, requireAuth } from './auth-middleware.js';
import { callback } from './callback.js';
import type { AppConfig } from './config.js';
import { PageError } from './errors.js';
import { createIdpClient } from './idp-client.js';
import { login } from './login.js';
import { logout, sameOrigin } from './logout.js';
import { about, home } from './pages.js';
import { createRefresh } from './refresh.js';
import { createSealer } from './sealed.js';
import { Redis } from 'ioredis';
import { backchannelLogout } from './backchannel-logout.js';
import { createMemoryLogoutStore } from './store/logout-memory.js';
import { createRedisLogoutStore } from './store/logout-redis.js';
import type { LogoutStore } from './store/logout-store.js';
import { createMemoryRenewalStore } from './store/renewal-memory.js';
import { createRedisRenewalStore } from './store/renewal-redis.js';
import type { RenewalStore } from './store/renewal-store.js';
import { createTokenCookie } from './token-cookie.js';
import { createTransactionCookie } from './transaction.js';

export interface AppDeps {
  /** The clock every expiry decision reads (epoch ms); tests move it. */
  now?: () => number;
  logger?: Logger;
  /** Replaces fetch for calls to the IdP. */
  fetch?: CustomFetch;
  /** Replace the stores chosen from the config. */
  renewals?: RenewalStore;
  logouts?: LogoutStore;
}

export interface BffApp {
  app: express.Express;
  close(): Promise<void>;
}

const VIEWS = fileURLToPath(new URL('../views/app', import.meta.url));
const PUBLIC = fileURLToPath(new URL('../public', import.meta.url));

export async function createApp(config: AppConfig, deps: AppDeps = {}): Promise<BffApp> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger('app', config.logLevel);
  const secure = config.baseUrl.protocol === 'https:';
  const idp = createIdpClient(config, { fetch: deps.fetch });
  const redis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2 }) : undefined;
  // The lock outlives the refresh call's timeout, so a slow IdP cannot let a second refresh through.
  const renewals = deps.renewals ?? (redis ? await createRedisRenewalStore(redis, { lockTtlMs: 2 * config.idpTimeoutMs + 1000, now }) : createMemoryRenewalStore(now));
  const logouts = deps.logouts ?? (redis ? createRedisLogoutStore(redis) : createMemoryLogoutStore(now));
  const cookie = createTokenCookie({ secure, mode: config.cookieMode, sealer: createSealer(config.cookieKeys, 'auth-cookie') });
  const transactions = createTransactionCookie(secure, createSealer(config.cookieKeys, 'transaction'));

  const app = express();
  app.disable('x-powered-by');
  // Behind https the TLS terminator is expected on this host: trust its X-Forwarded-Proto so Secure cookies are sent.
  if (secure) app.set('trust proxy', 'loopback');
  app.set('views', VIEWS);
  app.set('view engine', 'ejs');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { 'form-action': ["'self'", config.issuer.origin], 'style-src': ["'self'"], 'upgrade-insecure-requests': secure ? [] : null },
      },
      // `no-referrer` would make Chrome send `Origin: null` on our own form posts, failing the logout CSRF check.
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Static assets before the auth middleware: they need no session work.
  app.use('/static', express.static(PUBLIC, { maxAge: '1h' }));
  // Before the auth middleware: the IdP's server-to-server call carries no cookie.
  app.use('/backchannel-logout', backchannelLogout(config, idp, logouts, config.maxCookieLifetimeMs, now, logger));
  app.use(authMiddleware({ cookie, refresh: createRefresh(idp, now, logger), renewals, logouts, now, logger }));
  app.get('/', home);
  app.get('/login', login(config, idp, transactions, now));
  app.get('/signin-oidc', callback(config, idp, transactions, cookie, now, logger));
  app.post('/logout', sameOrigin(config), logout(config, idp, cookie, logger));
  app.get('/about', requireAuth, about(config, idp, now));
  app.use('/bff/api', apiProxy(config.apiUrl, config.idpTimeoutMs, logger));
  app.use((_req, res) => {
    res.status(404).render('error', { heading: 'Not found', message: 'There is no page at this address.' });
  });
  const renderError: ErrorRequestHandler = (error, _req, res, _next) => {
    if (error instanceof PageError) {
      return res.status(error.status).render('error', { heading: 'Sign-in problem', message: error.message });
    }
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error('unhandled error', { error });
    res.status(status).render('error', { heading: 'Something went wrong', message: status === 500 ? 'Please try again.' : 'The request could not be understood.' });
  };
  app.use(renderError);

  return {
    app,
    async close() {
      await renewals.close();
      await redis?.quit();
    },
  };
}
