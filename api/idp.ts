import { lazy } from '../common/lazy.js';
import type { ApiConfig } from './config.js';
import { ValidationUnavailableError } from './token.js';

export interface IdpEndpoints {
  introspection: string;
  jwks: URL;
}

export type IdpCall = (url: string, init?: RequestInit) => Promise<Response>;

/** Every call to the IdP: bounded by the timeout, and a network failure is the IdP's unavailability, not the token's fault. */
export function idpCall(config: ApiConfig, fetchFn: typeof fetch): IdpCall {
  return async (url, init) => {
    try {
      return await fetchFn(url, { ...init, signal: AbortSignal.timeout(config.idpTimeoutMs) });
    } catch (error) {
      throw new ValidationUnavailableError('the IdP cannot be reached', { cause: error });
    }
  };
}

/** Discovery once, on first use; a failure is not remembered, so the API recovers when the IdP comes up. */
export function idpEndpoints(config: ApiConfig, call: IdpCall): () => Promise<IdpEndpoints> {
  const discover = async (): Promise<IdpEndpoints> => {
    const res = await call(new URL('.well-known/openid-configuration', config.issuer.href.replace(/\/?$/, '/')).href);
    const metadata = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    const { introspection_endpoint: introspection, jwks_uri: jwks } = metadata ?? {};
    if (!res.ok || typeof introspection !== 'string' || typeof jwks !== 'string') {
      throw new ValidationUnavailableError(`the IdP's discovery answered ${res.status} without the introspection endpoint and JWKS`);
    }
    return { introspection, jwks: new URL(jwks) };
  };
  return lazy(discover);
}

/** The IdP's issuer as it writes it in `iss`: without the trailing slash URL parsing adds. */
export function issuerId(config: ApiConfig): string {
  return config.issuer.href.replace(/\/$/, '');
}
