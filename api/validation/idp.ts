import * as client from 'openid-client';
import { discover } from '../../common/discovery.js';
import { lazy } from '../../common/lazy.js';
import type { ApiConfig } from '../config.js';
import { InvalidTokenError, ValidationUnavailableError } from './token.js';

/** The IdP as the API sees it: discovered once, on first use, as the API's own client (client_secret_basic). */
export type IdpConfiguration = () => Promise<client.Configuration>;

/** A failure is not remembered, so the API recovers when the IdP comes up. */
export function idpConfiguration(config: ApiConfig, fetchFn: typeof fetch): IdpConfiguration {
  const options = { timeoutMs: config.idpTimeoutMs, fetch: fetchFn as client.CustomFetch };
  return lazy(() =>
    discover(config.issuer, config.clientId, client.ClientSecretBasic(config.clientSecret), options).catch((error: unknown) => {
      throw new ValidationUnavailableError("the IdP's discovery failed", { cause: error });
    }),
  );
}

/**
 * RFC 7662 through openid-client. oidc-provider refuses to introspect anything shaped like a JWT: not a token it issued
 * as a reference, so the token's fault. Any other failure (network, 5xx, our credentials refused) is the IdP's: 503.
 */
export async function introspect(idp: IdpConfiguration, token: string): Promise<client.IntrospectionResponse> {
  try {
    return await client.tokenIntrospection(await idp(), token, { token_type_hint: 'access_token' });
  } catch (error) {
    if (error instanceof ValidationUnavailableError) throw error;
    if ((error as { error?: unknown } | undefined)?.error === 'unsupported_token_type') throw new InvalidTokenError('the IdP does not introspect this kind of token', { cause: error });
    throw new ValidationUnavailableError('the IdP cannot introspect the token', { cause: error });
  }
}

/** The IdP's JWKS through jose, each fetch bounded; a network failure is the IdP's unavailability, not the token's fault. */
export function jwksFetch(fetchFn: typeof fetch): typeof fetch {
  return (url, init) =>
    fetchFn(url, init).catch((error: unknown) => {
      throw new ValidationUnavailableError('the IdP keys cannot be fetched', { cause: error });
    });
}
