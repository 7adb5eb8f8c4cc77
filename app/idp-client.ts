import * as client from 'openid-client';
import type { AppConfig } from './config.js';

/**
 * The IdP as seen by the app. Discovery is lazy and a failed discovery is not cached,
 * so the app starts before the IdP and recovers when it comes up.
 */
export interface IdpClient {
  configuration(): Promise<client.Configuration>;
}

export interface IdpClientOptions {
  /** Replaces global fetch for every call to the IdP (tests simulate outages with it). */
  fetch?: client.CustomFetch;
}

export function createIdpClient(config: AppConfig, options: IdpClientOptions = {}): IdpClient {
  let pending: Promise<client.Configuration> | undefined;
  const insecure = config.issuer.protocol === 'http:';
  const discover = async () => {
    const configuration = await client.discovery(config.issuer, config.clientId, undefined, client.ClientSecretBasic(config.clientSecret), {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: config.idpTimeoutMs / 1000,
      ...(options.fetch ? { [client.customFetch]: options.fetch } : {}),
    });
    configuration.timeout = config.idpTimeoutMs / 1000;
    if (options.fetch) configuration[client.customFetch] = options.fetch;
    return configuration;
  };
  return {
    configuration() {
      pending ??= discover().catch((error: unknown) => {
        pending = undefined;
        throw error;
      });
      return pending;
    },
  };
}
