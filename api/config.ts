import { type Env, readEnum, readInt, readString, readUrl } from '../common/env.js';
import type { Level } from '../common/log.js';

/** `introspection` asks the IdP about every token (revocation shows at once); `jwt` verifies locally against the JWKS (fast, but blind to revocation). */
export const TOKEN_VALIDATIONS = ['introspection', 'jwt'] as const;
export type TokenValidation = (typeof TOKEN_VALIDATIONS)[number];

export interface ApiConfig {
  port: number;
  issuer: URL;
  /** The API's own client at the IdP, for introspection. */
  clientId: string;
  clientSecret: string;
  validation: TokenValidation;
  /** The resource indicator JWT access tokens are issued for (their `aud`). */
  audience: string;
  /** How long a positive introspection answer is reused; never past the token's `exp`. */
  introspectionCacheMs: number;
  requiredScope: string;
  idpTimeoutMs: number;
  logLevel: Level;
}

export function readApiConfig(env: Env = process.env): ApiConfig {
  // One environment for the demo: JWT access tokens at the IdP mean JWT validation here, and the same resource URL.
  const validationDefault = env.IDP_ACCESS_TOKEN_FORMAT === 'jwt' ? 'jwt' : 'introspection';
  return {
    port: readInt(env, 'API_PORT', 5000, { min: 0, max: 65535 }),
    issuer: readUrl(env, 'IDP_ISSUER', 'http://localhost:4000'),
    clientId: readString(env, 'API_CLIENT_ID', 'api'),
    clientSecret: readString(env, 'API_CLIENT_SECRET', 'api-demo-secret-change-me'),
    validation: readEnum(env, 'API_TOKEN_VALIDATION', TOKEN_VALIDATIONS, validationDefault),
    audience: readUrl(env, 'API_AUDIENCE', readString(env, 'IDP_API_RESOURCE', 'http://localhost:5000')).href,
    introspectionCacheMs: readInt(env, 'API_INTROSPECTION_CACHE_MS', 5000, { min: 0, max: 300000 }),
    requiredScope: readString(env, 'API_REQUIRED_SCOPE', 'profile'),
    idpTimeoutMs: readInt(env, 'API_IDP_TIMEOUT_MS', 5000, { min: 100, max: 60000 }),
    logLevel: readEnum(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
  };
}
