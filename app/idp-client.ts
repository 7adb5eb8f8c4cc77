import * as client from 'openid-client';
import { lazy } from '../common/lazy.js';
import type { AppConfig, ClientAuthMethod } from './config.js';

/**
 * The IdP as seen by the app. Discovery is lazy and a failed discovery is not cached,
 * so the app starts before the IdP and recovers when it comes up.
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
  const insecure = config.issuer.protocol === 'http:';
  const discover = async () => {
    // The same tolerance as for logout tokens: an id token's iat from a clock a little ahead must not end a session.
    const metadata = { [client.clockTolerance]: config.clockToleranceS };
    const configuration = await client.discovery(config.issuer, config.clientId, metadata, AUTH_METHODS[config.clientAuthMethod](config), {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: config.idpTimeoutMs / 1000,
      ...(options.fetch ? { [client.customFetch]: options.fetch } : {}),
    });
    configuration.timeout = config.idpTimeoutMs / 1000;
    if (options.fetch) configuration[client.customFetch] = options.fetch;
    return configuration;
  };
  return { configuration: lazy(discover) };
}

/** A failed call to the IdP, for a log line: the OAuth `error` and `error_description` and the HTTP status, never the body (it may hold tokens). */
export function idpFailure(error: unknown): { reason: string; error?: unknown; error_description?: unknown; status?: unknown } {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const { error: oauthError, error_description, status } = (error ?? {}) as Record<string, unknown>;
  return { reason, error: oauthError, error_description, status };
}
