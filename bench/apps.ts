import express from 'express';
import { auth } from 'express-openid-connect';
import type { CustomFetch } from 'openid-client';
import { silentLogger } from '../common/log.js';
import { authMiddleware, requireAuth } from '../app/renewal/middleware.js';
import { openStores } from '../app/bff.js';
import { type AppConfig, readAppConfig } from '../app/config.js';
import { createIdpClient } from '../app/idp-client.js';
import { type Refresh, createRefresh } from '../app/renewal/refresh.js';
import { createSealer } from '../common/sealed.js';
import { createTokenCookie } from '../app/cookie/auth-cookie.js';
import { BENCH_CLIENT_SECRET } from './oidc.js';
import { BENCH_COOKIE_KEYS, EOC_SECRET } from './session.js';

/**
 * The servers under test: one small HTML route, `GET /page`, behind (a) nothing, (b) our auth middleware,
 * (c) express-openid-connect. Helmet, views and the other routes of the real app are left out of all three:
 * only the authentication layer differs.
 */

export const PAGE = '/page';
/** The Redis the Redis-backed variants use; scenarios skip them, saying so, when none answers. */
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
/** Where nothing listens: discovery is lazy in both libraries and a valid session never triggers it. */
const NOWHERE = 'http://127.0.0.1:9';

const escapeHtml = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (name: unknown) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Page</title></head><body><h1>Hello, ${escapeHtml(name)}</h1><p>A small page.</p></body></html>`;

/** Bare Express; with `busyUs`, behind a middleware that only keeps the CPU busy that long: what so much of any code costs. */
export function bareApp({ busyUs = 0 }: { busyUs?: number } = {}) {
  const app = express();
  app.disable('x-powered-by');
  if (busyUs > 0) {
    app.use((_req, _res, next) => {
      for (const end = performance.now() + busyUs / 1000; performance.now() < end; );
      next();
    });
  }
  app.get(PAGE, (_req, res) => {
    res.send(page('guest'));
  });
  return app;
}

export interface OurAppOptions {
  /** The IdP to refresh against; only the renewal scenario needs a real one. */
  issuer?: string;
  now?: () => number;
  /** Counts or replaces calls to the IdP. */
  fetch?: CustomFetch;
  /** Replaces the refresh_token grant (memory scenario: renewals without an IdP). */
  refresh?: Refresh;
  /** Set: renewal and logout stores in Redis, as createApp picks them when REDIS_URL is set. */
  redisUrl?: string;
}

/** The app's own config reader, fed bench values: new config fields get their defaults without touching the bench. */
export function benchAppConfig(issuer = NOWHERE): AppConfig {
  return readAppConfig({
    APP_PORT: '0',
    IDP_ISSUER: issuer,
    MVC_CLIENT_SECRET: BENCH_CLIENT_SECRET,
    APP_COOKIE_KEYS: BENCH_COOKIE_KEYS.join(','),
    API_BASE_URL: NOWHERE,
    LOG_LEVEL: 'error',
  });
}

/** Our middleware mounted as createApp mounts it (cookie, refresh, renewal and logout stores), then the page. */
export async function ourApp({ issuer, now = Date.now, fetch, refresh, redisUrl }: OurAppOptions = {}) {
  const config = { ...benchAppConfig(issuer), redisUrl };
  const { renewalStore, logouts, disconnect } = openStores(config, { now, logger: silentLogger });
  const cookie = createTokenCookie({ secure: false, mode: config.cookieMode, sealer: createSealer(config.cookieKeys, 'auth-cookie'), cacheEntries: config.cookieCacheEntries, now, maxBytes: config.cookieMaxBytes });
  refresh ??= createRefresh(createIdpClient(config, { fetch }), now, silentLogger);
  const app = express();
  app.disable('x-powered-by');
  app.use(authMiddleware({ cookie, refresh, renewalStore, logouts, now, logger: silentLogger }));
  app.get(PAGE, requireAuth, (req, res) => {
    res.send(page(req.auth!.user.name));
  });
  /** Renewal outcomes held in process (the memory store only). */
  const cachedOutcomes = () => ('size' in renewalStore ? (renewalStore.size as number) : Number.NaN);
  const close = async () => {
    await renewalStore.close();
    await logouts.close();
    disconnect();
  };
  return { app, cachedOutcomes, close };
}

/** express-openid-connect as its README sets it up, with the same secret length and a valid session cookie. */
export function eocApp() {
  const app = express();
  app.disable('x-powered-by');
  app.use(
    auth({
      authRequired: true,
      issuerBaseURL: NOWHERE,
      baseURL: 'http://localhost:3000',
      clientID: 'mvc',
      clientSecret: BENCH_CLIENT_SECRET,
      secret: EOC_SECRET,
      authorizationParams: { response_type: 'code', scope: 'openid profile email offline_access' },
    }),
  );
  app.get(PAGE, (req, res) => {
    res.send(page(req.oidc.user?.name));
  });
  return app;
}
