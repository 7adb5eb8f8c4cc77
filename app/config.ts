import { type Env, ConfigError, readEnum, readInt, readList, readString, readUrl, requireSecrets } from '../common/env.js';
import type { Level } from '../common/log.js';

/** `persistent`: the cookie's Expires equals the access token's; `session`: no Expires, the same expiry is enforced from inside the payload. */
export type CookieMode = 'persistent' | 'session';

export interface AppConfig {
  port: number;
  /** Public origin of the app: redirect URIs, cookie `Secure` / `__Host-` and the logout Origin check derive from it. */
  baseUrl: URL;
  issuer: URL;
  clientId: string;
  clientSecret: string;
  scope: string;
  /** First key encrypts, every key decrypts: put a new key first to rotate, drop the old one to retire it. */
  cookieKeys: string[];
  cookieMode: CookieMode;
  /** Recently opened auth cookies kept decrypted in memory, so a repeated cookie skips AES-GCM (0 turns it off). */
  cookieCacheEntries: number;
  /** The one API the BFF calls and proxies `/bff/api/*` to. */
  apiUrl: URL;
  /** Timeout of every call to the IdP; the renewal lock outlives it. */
  idpTimeoutMs: number;
  /** The longest access-token lifetime the IdP issues: back-channel logouts are remembered this long, as no older cookie can still live. */
  maxCookieLifetimeMs: number;
  /** Set: renewals are coordinated through Redis so several app instances share one refresh per token. */
  redisUrl?: string;
  logLevel: Level;
}

/** Plain http to the IdP is tolerated only on loopback (the demo, the tests). */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export function readAppConfig(env: Env = process.env): AppConfig {
  const baseUrl = readUrl(env, 'APP_BASE_URL', 'http://localhost:3000');
  const issuer = readUrl(env, 'IDP_ISSUER', 'http://localhost:4000');
  if (baseUrl.pathname !== '/') throw new ConfigError('APP_BASE_URL must be an origin without a path');
  if (issuer.protocol !== 'https:' && !LOOPBACK.has(issuer.hostname)) throw new ConfigError('IDP_ISSUER must be https unless it is on this machine');
  return {
    port: readInt(env, 'APP_PORT', 3000, { min: 0, max: 65535 }),
    baseUrl,
    issuer,
    clientId: readString(env, 'MVC_CLIENT_ID', 'mvc'),
    clientSecret: readString(env, 'MVC_CLIENT_SECRET', 'mvc-demo-secret-change-me'),
    scope: readString(env, 'APP_SCOPE', 'openid profile email offline_access'),
    cookieKeys: requireSecrets('APP_COOKIE_KEYS', readList(env, 'APP_COOKIE_KEYS', ['demo-cookie-key-change-me-0001'])),
    cookieMode: readEnum(env, 'APP_COOKIE_MODE', ['persistent', 'session'] as const, 'persistent'),
    cookieCacheEntries: readInt(env, 'APP_COOKIE_CACHE_ENTRIES', 1000, { min: 0, max: 100_000 }),
    apiUrl: readUrl(env, 'API_BASE_URL', 'http://localhost:5000'),
    idpTimeoutMs: readInt(env, 'APP_IDP_TIMEOUT_MS', 5000, { min: 100, max: 60000 }),
    maxCookieLifetimeMs: readInt(env, 'APP_MAX_COOKIE_LIFETIME_S', 300, { min: 1, max: 86400 }) * 1000,
    redisUrl: env.REDIS_URL || undefined,
    logLevel: readEnum(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
  };
}
