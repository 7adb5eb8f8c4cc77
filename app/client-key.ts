/** The key the app signs its client assertions with (private_key_jwt, RFC 7523): a private JWK from configuration. */
import { type JsonWebKey, type webcrypto, createPrivateKey } from 'node:crypto';
import type { PrivateKey } from 'openid-client';
import { type Env } from '../common/env.js';
import { ConfigError } from '../common/errors.js';

/** The JWS algorithms oidc-provider accepts for client assertions by default, as WebCrypto names them (openid-client derives `alg` back from these). */
const ALGORITHMS: Record<string, webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  Ed25519: { name: 'Ed25519' },
};

/** `name` holds one private JWK with its `alg` (and usually its `kid`); checked now, so a bad key stops the start, not a sign-in. */
export function readClientPrivateKey(env: Env, name: string): PrivateKey {
  const raw = env[name];
  if (!raw) throw new ConfigError(`${name} is required with APP_CLIENT_AUTH_METHOD=private_key_jwt: a private JWK (JSON, with "alg")`);
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new ConfigError(`${name} must be a private JWK as JSON`);
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || 'keys' in jwk) throw new ConfigError(`${name} must be one private JWK object, not a key set`);
  const alg = typeof jwk.alg === 'string' ? ALGORITHMS[jwk.alg] : undefined;
  if (!alg) throw new ConfigError(`${name} must name its "alg": one of ${Object.keys(ALGORITHMS).join(', ')}, got ${JSON.stringify(jwk.alg)}`);
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') throw new ConfigError(`${name}: "kid" must be a string`);
  try {
    const key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' }).toCryptoKey(alg, false, ['sign']);
    return { key, kid: jwk.kid };
  } catch (error) {
    // Node's message says what is wrong (no private part, key type or curve not the algorithm's) and never holds key material.
    throw new ConfigError(`${name} is not a usable ${String(jwk.alg)} private key: ${(error as Error).message}`);
  }
}
