import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { ApiConfig } from '../config.js';
import { type IdpConfiguration, introspect } from './idp.js';
import { InvalidTokenError, type TokenInfo, type ValidateToken, scopeList } from './token.js';

const MAX_CACHED = 10_000;

/** RFC 7662 with the API's own credentials; positive answers are reused briefly, never past `exp`. */
export function introspectionValidator(config: ApiConfig, idp: IdpConfiguration, now: () => number): ValidateToken {
  // Each answer lives until the cache window or the token's exp, whichever comes first, by the injected clock.
  const cache = new LRUCache<string, TokenInfo>({ max: MAX_CACHED, ttlAutopurge: false, ttlResolution: 0, perf: { now } });

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = cache.get(key);
    if (cached) return cached;

    const answer = await introspect(idp, token);
    if (answer.active !== true || typeof answer.sub !== 'string' || typeof answer.exp !== 'number' || answer.exp * 1000 <= now()) {
      throw new InvalidTokenError('the access token is not active');
    }
    // Only a token issued for us (RFC 8707): one for another resource, or for none (a client's UserInfo token), is not, even if the IdP still knows it.
    const audience = answer.aud === undefined ? [] : [answer.aud].flat().map(String);
    if (!audience.some((aud) => config.audience.includes(aud))) {
      throw new InvalidTokenError(audience.length ? `the access token is for another audience (${audience.join(', ')})` : 'the access token names no audience');
    }
    const info: TokenInfo = {
      sub: answer.sub,
      clientId: typeof answer.client_id === 'string' ? answer.client_id : undefined,
      scope: scopeList(answer.scope),
      exp: answer.exp,
      claims: answer,
    };
    // lru-cache still serves an entry at exactly its ttl; a token is dead at its exp, so one millisecond less.
    const ttl = Math.min(config.introspectionCacheMs, answer.exp * 1000 - now()) - 1;
    if (ttl > 0) cache.set(key, info, { ttl });
    return info;
  };
}
