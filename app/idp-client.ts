import * as client from 'openid-client';
import { discover } from '../common/discovery.js';
import { ServiceError } from '../common/errors.js';
import { lazy } from '../common/lazy.js';
import type { AppConfig, ClientAuthMethod } from './config.js';
import { IdpAnswerError, IdpRefusalError, IdpUnavailableError, UnusableAnswerError } from './errors.js';

/**
 * The IdP as seen by the app. Discovery is lazy and a failed discovery is not cached,
 * so the app starts before the IdP and recovers when it comes up; it fails with an `IdpUnavailableError`.
 */
export interface IdpClient {
  configuration(): Promise<client.Configuration>;
}

/** APP_CLIENT_AUTH_METHOD: how the app proves at the IdP's token endpoint that it is the client. */
const AUTH_METHODS: Record<ClientAuthMethod, (config: AppConfig) => client.ClientAuth> = {
  client_secret_basic: (config) => client.ClientSecretBasic(config.clientSecret),
  client_secret_post: (config) => client.ClientSecretPost(config.clientSecret),
  // readAppConfig sets the key exactly with this method.
  private_key_jwt: (config) => client.PrivateKeyJwt(config.clientPrivateKey!),
};

export interface IdpClientOptions {
  /** Replaces global fetch for every call to the IdP (tests simulate outages with it). */
  fetch?: client.CustomFetch;
}

export function createIdpClient(config: AppConfig, options: IdpClientOptions = {}): IdpClient {
  // The same tolerance as for logout tokens: an id token's iat from a clock a little ahead must not end a session.
  const metadata = { [client.clockTolerance]: config.clockToleranceS };
  const clientAuth = AUTH_METHODS[config.clientAuthMethod](config);
  return {
    configuration: lazy(() =>
      discover(config.issuer, config.clientId, clientAuth, { timeoutMs: config.idpTimeoutMs, fetch: options.fetch, metadata }).catch((error: unknown) => {
        throw idpError(error);
      }),
    ),
  };
}

/** The connection was never made: the IdP cannot have seen the request. */
const UNSENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);
/** openid-client's codes for an answer that arrived but cannot be trusted. */
const UNUSABLE = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_PARSE_ERROR',
  'OAUTH_KEY_SELECTION_FAILED',
]);

/** openid-client gave up waiting: the request went out. */
const TIMEOUTS = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT']);

/**
 * The one place that reads openid-client's and fetch's errors: each becomes one of ours — the IdP unavailable (and whether
 * the request may have reached it), an OAuth refusal, an answer we cannot read, or an unusable answer. Anything else is
 * returned as it is: a bug.
 */
export function idpError(error: unknown): unknown {
  if (error instanceof ServiceError) return error;
  const { error: oauthError, error_description, status, code, cause, message, name } = (error ?? {}) as Record<string, unknown>;
  // openid-client wraps what it does not recognise (a fetch error from another realm, say) without a code: judge the cause.
  if (name === 'ClientError' && code === undefined && cause !== undefined) {
    const ours = idpError(cause);
    return ours instanceof ServiceError ? ours : error;
  }
  // A non-conforming answer carries the HTTP response as its cause.
  const httpStatus = typeof status === 'number' ? status : (cause as { status?: unknown } | undefined)?.status;
  const serverFault = typeof httpStatus === 'number' && httpStatus >= 500;
  if (typeof oauthError === 'string') {
    if (serverFault) return new IdpUnavailableError(true, { cause: error });
    const description = typeof error_description === 'string' ? error_description : undefined;
    return new IdpRefusalError(oauthError, description, typeof status === 'number' ? status : undefined, { cause: error });
  }
  // undici reports every network failure as TypeError('fetch failed') with the socket error as its cause; by name,
  // not instanceof: fetch's errors may come from another realm (a VM context, a worker).
  if (name === 'TypeError' && message === 'fetch failed') {
    const causeCode = (cause as { code?: unknown } | undefined)?.code;
    return new IdpUnavailableError(!(typeof causeCode === 'string' && UNSENT.has(causeCode)), { cause: error });
  }
  if (typeof code !== 'string' || !code.startsWith('OAUTH_')) return error;
  if (UNUSABLE.has(code)) return new UnusableAnswerError(String(message), { cause: error });
  if (TIMEOUTS.has(code) || serverFault) return new IdpUnavailableError(true, { cause: error });
  return new IdpAnswerError(String(message), { cause: error });
}

/** A failed call to the IdP, for a log line: the OAuth `error` and `error_description` and the HTTP status, never the body (it may hold tokens). */
export function idpFailure(error: unknown): { reason: string; error?: string; error_description?: string; status?: number } {
  // Ours wrap what openid-client or fetch said, which is the reason to log; the app's own checks have no cause.
  const { cause } = (error ?? {}) as { cause?: unknown };
  const source = error instanceof ServiceError && cause !== undefined ? cause : error;
  const reason = source instanceof Error ? `${source.name}: ${source.message}` : String(source);
  if (error instanceof IdpRefusalError) return { reason, error: error.code, error_description: error.description, status: error.idpStatus };
  const status = (source as { status?: unknown } | undefined)?.status;
  return { reason, ...(typeof status === 'number' ? { status } : {}) };
}
