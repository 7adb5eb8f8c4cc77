import { type JWTVerifyGetKey, createRemoteJWKSet, customFetch, errors, jwtVerify } from 'jose';
import { lazy } from '../../common/lazy.js';
import type { ApiConfig } from '../config.js';
import { issuerId } from '../../common/env.js';
import { type IdpConfiguration, jwksFetch } from './idp.js';
import { InvalidTokenError, type ValidateToken, ValidationUnavailableError, scopeList } from './token.js';

/** jose's failures to read the key set (not 200, not JSON, malformed): the IdP's problem, not the token's. */
const KEY_SET_FAILURES = new Set([errors.JOSEError.code, errors.JWKSTimeout.code, errors.JWKSInvalid.code]);

/** Local validation against the IdP's JWKS: no call per request, so a revoked token stays valid until it expires. */
export function jwtValidator(config: ApiConfig, idp: IdpConfiguration, now: () => number, fetchFn: typeof fetch): ValidateToken {
  const keySet = lazy(async (): Promise<JWTVerifyGetKey> => {
    const { jwks_uri: jwks } = (await idp()).serverMetadata();
    if (!jwks) throw new ValidationUnavailableError("the IdP's discovery names no JWKS");
    return createRemoteJWKSet(new URL(jwks), { timeoutDuration: config.idpTimeoutMs, [customFetch]: jwksFetch(fetchFn) });
  });

  return async (token) => {
    const getKey = await keySet();
    try {
      const { payload } = await jwtVerify(token, getKey, { issuer: issuerId(config.issuer), audience: config.audience, typ: 'at+jwt', currentDate: new Date(now()) });
      if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') throw new InvalidTokenError('the access token lacks sub or exp');
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : undefined;
      return { sub: payload.sub, clientId, scope: scopeList(payload.scope), exp: payload.exp, claims: payload };
    } catch (error) {
      if (error instanceof InvalidTokenError || error instanceof ValidationUnavailableError) throw error;
      if (error instanceof errors.JOSEError && KEY_SET_FAILURES.has(error.code)) {
        throw new ValidationUnavailableError('the IdP keys cannot be fetched', { cause: error });
      }
      throw new InvalidTokenError('the access token is not valid', { cause: error });
    }
  };
}
