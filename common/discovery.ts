import * as client from 'openid-client';

export interface DiscoveryOptions {
  timeoutMs: number;
  /** Replaces fetch for discovery and for every call made with the configuration. */
  fetch?: client.CustomFetch;
  metadata?: Partial<client.ClientMetadata>;
}

/**
 * openid-client's discovery for the app and the API. Its options bound discovery only, so the timeout and fetch are set
 * on the configuration too, for every later call; plain http only for an http issuer (the demo on loopback).
 */
export async function discover(issuer: URL, clientId: string, clientAuth: client.ClientAuth, { timeoutMs, fetch, metadata }: DiscoveryOptions): Promise<client.Configuration> {
  const timeout = timeoutMs / 1000;
  const configuration = await client.discovery(issuer, clientId, metadata, clientAuth, {
    execute: issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
    timeout,
    ...(fetch ? { [client.customFetch]: fetch } : {}),
  });
  configuration.timeout = timeout;
  if (fetch) configuration[client.customFetch] = fetch;
  return configuration;
}
