import { type Env, type TrustProxy, DEMO_URLS, isLoopback, readAppBaseUrl, readEnum, readInt, readIssuer, readKeys, readLogLevel, readSecret, readString, readTrustProxy, readUrl, requireOwnSecrets } from '../common/env.js';
import { ConfigError } from '../common/errors.js';
import type { Level } from '../common/log.js';
import { DEFAULT_STALE_GRACE_MS } from './renewal/store.js';
import type { PrivateKey } from 'openid-client';
import { readClientPrivateKey } from './client-key.js';

/** Some IdPs refuse RFC 6749's URL-encoded Basic credentials (openid-client sends them): `client_secret_post` then works; `private_key_jwt` sends no secret at all. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** `persistent`: the cookie's Expires equals the access token's; `session`: no Expires, the same expiry is enforced from inside the payload. */
export type CookieMode = 'persistent' | 'session';

export interface AppConfig {
  port: number;
  /** Public origin of the app: redirect URIs, cookie `Secure` / `__Host-` and the logout Origin check derive from it. */
  baseUrl: URL;
  issuer: URL;
  clientId: string;
  clientSecret: string;
  /** How the app authenticates at the IdP's token endpoint: its secret in the Authorization header or in the form, or a JWT signed with its key. */
  clientAuthMethod: ClientAuthMethod;
  /** The key that signs the client assertion; set exactly when `clientAuthMethod` is `private_key_jwt`. */
  clientPrivateKey?: PrivateKey;
  scope: string;
  /** First key encrypts, every key decrypts: put a new key first to rotate, drop the old one to retire it. */
  cookieKeys: string[];
  cookieMode: CookieMode;
  /** Recently opened auth cookies kept decrypted in memory, so a repeated cookie skips AES-GCM (0 turns it off). */
  cookieCacheEntries: number;
  /** Ceiling on the auth cookie's chunks together (`name=value` pairs as the browser sends them): larger token sets fail to sign in with a clear page. */
  cookieMaxBytes: number;
  /** The one API the BFF calls and proxies `/bff/api/*` to. */
  apiUrl: URL;
  /** Timeout of every call to the IdP; the renewal lock outlives it. */
  idpTimeoutMs: number;
  /** How long a cookie from before a renewal still gets the renewed session (app/renewal/store.ts says why 10 s); after it, anonymous. */
  staleCookieGraceMs: number;
  /** How far the app's clock may disagree with the IdP's when a logout token's iat is checked. */
  clockToleranceS: number;
  /** Set: renewals are coordinated through Redis so several app instances share one refresh per token. */
  redisUrl?: string;
  /** Bound on every Redis call, well under the IdP timeout: past it the instance renews and checks logouts on its own. */
  redisTimeoutMs: number;
  /** Which peers' X-Forwarded-* headers to believe (TRUST_PROXY, Express's `trust proxy`). */
  trustProxy: TrustProxy;
  logLevel: Level;
}

export function readAppConfig(env: Env = process.env): AppConfig {
  const baseUrl = readAppBaseUrl(env);
  const issuer = readIssuer(env);
  if (baseUrl.pathname !== '/') throw new ConfigError('APP_BASE_URL must be an origin without a path');
  // Plain http to the IdP is tolerated only on loopback (the demo, the tests).
  if (issuer.protocol !== 'https:' && !isLoopback(issuer)) throw new ConfigError('IDP_ISSUER must be https unless it is on this machine');
  const clientAuthMethod = readEnum(env, 'APP_CLIENT_AUTH_METHOD', CLIENT_AUTH_METHODS, 'client_secret_basic');
  // private_key_jwt sends no client secret: then there is none to refuse.
  requireOwnSecrets(env, baseUrl, clientAuthMethod === 'private_key_jwt' ? ['APP_COOKIE_KEYS'] : ['APP_COOKIE_KEYS', 'MVC_CLIENT_SECRET']);
  return {
    port: readInt(env, 'APP_PORT', 3000, { min: 0, max: 65535 }),
    baseUrl,
    issuer,
    clientId: readString(env, 'MVC_CLIENT_ID', 'mvc'),
    clientSecret: readSecret(env, 'MVC_CLIENT_SECRET'),
    clientAuthMethod,
    clientPrivateKey: clientAuthMethod === 'private_key_jwt' ? readClientPrivateKey(env, 'APP_CLIENT_PRIVATE_KEY') : undefined,
    // No offline_access: the app's refresh tokens must end with the IdP session (sign-out there, or its cap), not outlive it.
    scope: readString(env, 'APP_SCOPE', 'openid profile email'),
    cookieKeys: readKeys(env, 'APP_COOKIE_KEYS'),
    cookieMode: readEnum(env, 'APP_COOKIE_MODE', ['persistent', 'session'] as const, 'persistent'),
    cookieCacheEntries: readInt(env, 'APP_COOKIE_CACHE_ENTRIES', 1000, { min: 0, max: 100_000 }),
    // 12 KB leaves room for the other headers within Node's 16 KB request-header limit.
    cookieMaxBytes: readInt(env, 'APP_COOKIE_MAX_BYTES', 12 * 1024, { min: 4096, max: 65536 }),
    apiUrl: readUrl(env, 'API_BASE_URL', DEMO_URLS.api),
    idpTimeoutMs: readInt(env, 'APP_IDP_TIMEOUT_MS', 5000, { min: 100, max: 60000 }),
    staleCookieGraceMs: readInt(env, 'APP_STALE_COOKIE_GRACE_MS', DEFAULT_STALE_GRACE_MS, { min: 0, max: 60_000 }),
    clockToleranceS: readInt(env, 'APP_CLOCK_TOLERANCE_S', 60, { min: 0, max: 300 }),
    redisUrl: env.REDIS_URL || undefined,
    redisTimeoutMs: readInt(env, 'APP_REDIS_TIMEOUT_MS', 500, { min: 10, max: 10000 }),
    trustProxy: readTrustProxy(env),
    logLevel: readLogLevel(env),
  };
}
