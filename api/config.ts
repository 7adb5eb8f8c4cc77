import { type Env, type TrustProxy, isLoopback, readApiResource, readEnum, readInt, readIssuer, readList, readLogLevel, readSecret, readString, readTrustProxy, requireOwnSecrets } from '../common/env.js';
import type { Level } from '../common/log.js';

/** `introspection` asks the IdP about every token (revocation shows at once); `jwt` verifies locally against the JWKS (fast, but blind to revocation). */
export const TOKEN_VALIDATIONS = ['introspection', 'jwt'] as const;

export interface ApiConfig {
  port: number;
  issuer: URL;
  /** The API's own client at the IdP, for introspection. */
  clientId: string;
  clientSecret: string;
  validation: (typeof TOKEN_VALIDATIONS)[number];
  /** What a token's `aud` must name (one of them), as the IdP writes it: any string, e.g. our IdP's resource indicator or another IdP's API identifier. */
  audience: string[];
  /** How long a positive introspection answer is reused; never past the token's `exp`. */
  introspectionCacheMs: number;
  requiredScope: string;
  idpTimeoutMs: number;
  /** Which peers' X-Forwarded-* headers to believe (TRUST_PROXY, Express's `trust proxy`). */
  trustProxy: TrustProxy;
  logLevel: Level;
}

export function readApiConfig(env: Env = process.env): ApiConfig {
  // One environment for the demo: JWT access tokens at the IdP mean JWT validation here, and the same resource URL.
  const validationDefault = env.IDP_ACCESS_TOKEN_FORMAT === 'jwt' ? 'jwt' : 'introspection';
  const issuer = readIssuer(env);
  const validation = readEnum(env, 'API_TOKEN_VALIDATION', TOKEN_VALIDATIONS, validationDefault);
  // Unset: the demo IdP's resource indicator, normalised as the IdP writes it (with the trailing slash).
  const audience = readList(env, 'API_AUDIENCE', [readApiResource(env).href]);
  // Only introspection uses the secret. The API is public once its issuer or an audience is off loopback (an identifier that is no URL counts).
  const publicUrl = [issuer.href, ...audience].map((value) => URL.parse(value) ?? new URL(`urn:${value}`)).find((url) => !isLoopback(url));
  if (validation === 'introspection' && publicUrl) requireOwnSecrets(env, publicUrl, ['API_CLIENT_SECRET']);
  return {
    port: readInt(env, 'API_PORT', 5000, { min: 0, max: 65535 }),
    issuer,
    clientId: readString(env, 'API_CLIENT_ID', 'api'),
    clientSecret: readSecret(env, 'API_CLIENT_SECRET'),
    validation,
    audience,
    introspectionCacheMs: readInt(env, 'API_INTROSPECTION_CACHE_MS', 5000, { min: 0, max: 300000 }),
    requiredScope: readString(env, 'API_REQUIRED_SCOPE', 'profile'),
    idpTimeoutMs: readInt(env, 'API_IDP_TIMEOUT_MS', 5000, { min: 100, max: 60000 }),
    trustProxy: readTrustProxy(env),
    logLevel: readLogLevel(env),
  };
}
