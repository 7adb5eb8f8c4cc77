import { createHash } from 'node:crypto';
import type { ApiConfig } from './config.js';
import type { IdpCall, IdpEndpoints } from './idp.js';
import { InvalidTokenError, type TokenInfo, type ValidateToken, ValidationUnavailableError, scopeList } from './token.js';

const MAX_CACHED = 10_000;

/** RFC 7662 with the API's own credentials; positive answers are reused briefly, never past `exp`. */
export function introspectionValidator(config: ApiConfig, call: IdpCall, endpoints: () => Promise<IdpEndpoints>, now: () => number): ValidateToken {
  const cache = new Map<string, { info: TokenInfo; until: number }>();
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`).toString('base64')}`;

  const introspect = async (token: string): Promise<Record<string, unknown>> => {
    const res = await call((await endpoints()).introspection, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    // oidc-provider refuses to introspect anything shaped like a JWT: not a token it issued as a reference.
    if (res.status === 400 && answer.error === 'unsupported_token_type') throw new InvalidTokenError('the IdP does not introspect this kind of token');
    if (!res.ok) throw new ValidationUnavailableError(`the IdP's introspection answered ${res.status} ${String(answer.error ?? '')}`.trim());
    return answer;
  };

  return async (token) => {
    const key = createHash('sha256').update(token).digest('base64url');
    const cached = cache.get(key);
    if (cached && cached.until > now()) return cached.info;
    cache.delete(key);

    const answer = await introspect(token);
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
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, { info, until: Math.min(now() + config.introspectionCacheMs, answer.exp * 1000) });
    return info;
  };
}
