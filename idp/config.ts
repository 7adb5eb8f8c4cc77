import path from 'node:path';
import type { ClientMetadata, JWKS } from 'oidc-provider';
import { type Env, type TrustProxy, issuerId, readApiResource, readAppBaseUrl, readBoolean, readEnum, readInt, readIssuer, readKeys, readLogLevel, readSecret, readString, readTrustProxy, requireOwnSecrets } from '../common/env.js';
import { ConfigError } from '../common/errors.js';
import type { Level } from '../common/log.js';
import { readClientsFile } from './clients.js';

export const STORE_KINDS = ['sqlite', 'memory', 'redis'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export const ACCESS_TOKEN_FORMATS = ['opaque', 'jwt'] as const;
/** `opaque`: reference tokens the API introspects; `jwt`: tokens bound to the API resource, validated locally. */
export type AccessTokenFormat = (typeof ACCESS_TOKEN_FORMATS)[number];

/** Lifetimes in seconds. `session` is the absolute cap: IdP session, grant and refresh-token chain. */
export interface IdpTtl {
  accessToken: number;
  refreshToken: number;
  idToken: number;
  session: number;
}

export interface IdpConfig {
  port: number;
  /** Issuer identifier, without a trailing slash. */
  issuer: string;
  /** Signing keys, token store (SQLite) and accounts file live here. */
  dataDir: string;
  store: StoreKind;
  redisUrl?: string;
  /** Every Redis key starts with this, so several IdPs (or test runs) can share one Redis. */
  redisPrefix: string;
  /** A Redis that loses data on restart would sign everyone out: refused unless this is set. */
  redisAllowVolatile: boolean;
  /** Every Redis command fails after this long, so a refresh is never completed after its caller gave up. */
  redisCommandTimeoutMs: number;
  /** Seconds after its first use during which a rotated refresh token, presented again by its client, gets the same answer; 0 turns it off. */
  refreshReuseGraceS: number;
  /** First key signs the IdP cookies, all keys verify. */
  cookieKeys: string[];
  ttl: IdpTtl;
  /** The built-in `mvc` and `api`, then IDP_CLIENTS_FILE's; each may carry its refresh policy under `x_refresh` (clients.ts). */
  clients: ClientMetadata[];
  accountsFile: string;
  /** Private signing keys; when unset they are generated once and kept in `<dataDir>/jwks.json`. */
  jwks?: JWKS;
  /** The API's resource indicator (RFC 8707), the `aud` of its JWT access tokens; DEMO_URLS.api when unset. */
  apiResource?: string;
  /** `opaque` when unset. */
  accessTokenFormat?: AccessTokenFormat;
  /** Which peers' X-Forwarded-* headers to believe (TRUST_PROXY, Express's `trust proxy`); Koa then reads only what they vouched for. */
  trustProxy: TrustProxy;
  logLevel: Level;
}

export interface ClientSettings {
  appBaseUrl: string;
  mvcSecret: string;
  apiSecret: string;
}

const DAY = 24 * 3600;

/** The two first-party clients: the BFF (`mvc`) and the API, which only introspects tokens. */
export function defaultClients({ appBaseUrl, mvcSecret, apiSecret }: ClientSettings): ClientMetadata[] {
  const base = appBaseUrl.replace(/\/$/, '');
  return [
    {
      client_id: 'mvc',
      client_secret: mvcSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [`${base}/signin-oidc`],
      post_logout_redirect_uris: [`${base}/`],
      // The IdP posts a logout token here when the session ends; `sid` in the id token ties the app's cookie to it.
      backchannel_logout_uri: `${base}/backchannel-logout`,
      backchannel_logout_session_required: true,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    {
      client_id: 'api',
      client_secret: apiSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [],
      grant_types: [],
      response_types: [],
    },
  ];
}

export function readIdpConfig(env: Env = process.env): IdpConfig {
  const dataDir = readString(env, 'IDP_DATA_DIR', './data/idp');
  const store = readEnum(env, 'IDP_STORE', STORE_KINDS, 'sqlite');
  const redisUrl = env.REDIS_URL || undefined;
  if (store === 'redis' && !redisUrl) throw new ConfigError('IDP_STORE=redis needs REDIS_URL');
  const ttl = (name: string, fallback: number) => readInt(env, name, fallback, { min: 1, max: 30 * DAY });
  const refreshToken = ttl('IDP_REFRESH_TOKEN_TTL', 60);
  const session = ttl('IDP_SESSION_TTL', 8 * 3600);
  const issuer = issuerId(readIssuer(env));
  requireOwnSecrets(env, new URL(issuer), ['IDP_COOKIE_KEYS', 'MVC_CLIENT_SECRET', 'API_CLIENT_SECRET']);
  return {
    port: readInt(env, 'IDP_PORT', 4000, { min: 0, max: 65535 }),
    issuer,
    dataDir,
    store,
    redisUrl,
    redisPrefix: readString(env, 'IDP_REDIS_PREFIX', 'idp:'),
    redisAllowVolatile: readBoolean(env, 'IDP_REDIS_ALLOW_VOLATILE', false),
    redisCommandTimeoutMs: readInt(env, 'IDP_REDIS_TIMEOUT_MS', 1000, { min: 50, max: 60_000 }),
    // Never longer than a refresh token lives: the window must not extend a chain past its own expiry.
    refreshReuseGraceS: readInt(env, 'IDP_REFRESH_REUSE_GRACE_S', Math.min(30, refreshToken), { min: 0, max: refreshToken }),
    cookieKeys: readKeys(env, 'IDP_COOKIE_KEYS'),
    ttl: {
      accessToken: ttl('IDP_ACCESS_TOKEN_TTL', 60),
      refreshToken,
      idToken: ttl('IDP_ID_TOKEN_TTL', 60),
      session,
    },
    clients: readClients(env, session),
    accountsFile: readString(env, 'IDP_ACCOUNTS_FILE', path.join(dataDir, 'accounts.json')),
    jwks: readJwks(env),
    apiResource: readApiResource(env).href,
    accessTokenFormat: readEnum(env, 'IDP_ACCESS_TOKEN_FORMAT', ACCESS_TOKEN_FORMATS, 'opaque'),
    trustProxy: readTrustProxy(env),
    logLevel: readLogLevel(env),
  };
}

/** A client's refresh tokens may live up to the session cap, which bounds every chain anyway. */
function readClients(env: Env, maxTtlS: number): ClientMetadata[] {
  const builtIn = defaultClients({
    appBaseUrl: readAppBaseUrl(env).origin,
    mvcSecret: readSecret(env, 'MVC_CLIENT_SECRET'),
    apiSecret: readSecret(env, 'API_CLIENT_SECRET'),
  });
  const file = env.IDP_CLIENTS_FILE;
  return file ? [...builtIn, ...readClientsFile(file, builtIn.map((client) => client.client_id), maxTtlS)] : builtIn;
}

/** IDP_JWKS: a private JWKS (`{"keys":[…]}`), for deployments that manage keys outside the data directory. */
function readJwks(env: Env): JWKS | undefined {
  const raw = env.IDP_JWKS;
  if (!raw) return undefined;
  let jwks: unknown;
  try {
    jwks = JSON.parse(raw);
  } catch {
    throw new ConfigError('IDP_JWKS must be JSON: {"keys":[…private JWKs…]}');
  }
  const keys = (jwks as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => typeof key === 'object' && key !== null && 'd' in key)) {
    throw new ConfigError('IDP_JWKS must list at least one private key (with "d")');
  }
  return jwks as JWKS;
}
