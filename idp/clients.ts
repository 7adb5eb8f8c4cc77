/**
 * Clients as configuration: IDP_CLIENTS_FILE, a JSON array of standard client metadata (OpenID Connect Dynamic Client
 * Registration §2), each optionally with our refresh policy under `x_refresh`. Checked when the IdP starts.
 */
import { readFileSync } from 'node:fs';
import type { ClientMetadata, Provider } from 'oidc-provider';
import { ConfigError } from '../common/errors.js';
import type { IdpConfig } from './config.js';
import { SIGNING_ALGS } from './keys.js';

/** Every client authenticates: with its secret, in the Authorization header or in the form, or with a JWT signed by its key (RFC 7523). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
const GRANT_TYPES = ['authorization_code', 'refresh_token'];
/** The IdP runs the code flow only. */
const RESPONSE_TYPES = ['code'];
const MIN_SECRET_LENGTH = 16;

/** The client metadata key of our refresh policy; oidc-provider ignores metadata it does not know. */
export const REFRESH_POLICY = 'x_refresh';

/** How a client's refresh tokens behave; in a clients file `{ "ttl_s": …, "rotate": …, "reuse_grace_s": … }`. */
export interface RefreshPolicy {
  /** Lifetime of each refresh token, from its issue (sliding when rotated), never past the session cap. */
  ttlS: number;
  /** A new refresh token at every refresh (and the reuse of an old one revokes the grant); off: one token for the grant's life. */
  rotate: boolean;
  /** Seconds during which a rotated token presented again gets the first answer again (grants/refresh-grace.ts); 0: off. */
  reuseGraceS: number;
}

const POLICY_FIELDS = ['ttl_s', 'rotate', 'reuse_grace_s'];

/** The clients of IDP_CLIENTS_FILE, checked one by one; `taken` are the built-in client ids, which the file must not reuse. */
export function readClientsFile(file: string, taken: string[], maxTtlS: number): ClientMetadata[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`IDP_CLIENTS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`IDP_CLIENTS_FILE ${file} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new ConfigError(`IDP_CLIENTS_FILE ${file} must hold a JSON array of client metadata objects`);
  const seen = new Set(taken);
  return parsed.map((entry: unknown, index) => {
    const id = (entry as { client_id?: unknown } | null)?.client_id;
    if (typeof id === 'string' && seen.has(id)) throw new ConfigError(`IDP_CLIENTS_FILE ${file}: client_id "${id}" is used twice (mvc and api are built in)`);
    const client = checkClient(entry, maxTtlS, (problem) => new ConfigError(`IDP_CLIENTS_FILE ${file}, client #${index + 1}${typeof id === 'string' ? ` ("${id}")` : ''}: ${problem}`));
    seen.add(client.client_id);
    return client;
  });
}

/** What oidc-provider would accept, plus what this IdP supports; oidc-provider checks the rest at start-up (validateClients). */
function checkClient(entry: unknown, maxTtlS: number, fail: (problem: string) => ConfigError): ClientMetadata {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail('must be an object of client metadata');
  const client = entry as ClientMetadata;
  if (typeof client.client_id !== 'string' || client.client_id === '') throw fail('client_id is required');
  const method = client.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!(CLIENT_AUTH_METHODS as readonly string[]).includes(method)) {
    throw fail(`token_endpoint_auth_method "${method}" is not supported; use one of ${CLIENT_AUTH_METHODS.join(', ')}`);
  }
  if (method === 'private_key_jwt') checkPublicKeys(client, fail);
  else if (typeof client.client_secret !== 'string' || client.client_secret.length < MIN_SECRET_LENGTH) {
    throw fail(`client_secret is required, at least ${MIN_SECRET_LENGTH} characters`);
  }
  const grantTypes = client.grant_types ?? ['authorization_code'];
  const unknownGrant = grantTypes.find((grant) => !GRANT_TYPES.includes(grant));
  if (unknownGrant !== undefined) throw fail(`grant type "${unknownGrant}" is not supported; use ${GRANT_TYPES.join(', ')}`);
  const unknownResponse = (client.response_types ?? ['code']).find((type) => !RESPONSE_TYPES.includes(type));
  if (unknownResponse !== undefined) throw fail(`response type "${unknownResponse}" is not supported: this IdP runs the code flow only`);
  if (grantTypes.includes('authorization_code') && !client.redirect_uris?.length) throw fail('redirect_uris is required for the authorization_code grant');
  for (const field of ['redirect_uris', 'post_logout_redirect_uris'] as const) {
    for (const uri of client[field] ?? []) if (!URL.canParse(uri)) throw fail(`${field} must hold absolute URLs, got "${uri}"`);
  }
  if (client.backchannel_logout_uri !== undefined && !URL.canParse(client.backchannel_logout_uri)) {
    throw fail(`backchannel_logout_uri must be an absolute URL, got "${client.backchannel_logout_uri}"`);
  }
  const alg = client.id_token_signed_response_alg;
  if (alg !== undefined && !(SIGNING_ALGS as readonly string[]).includes(alg)) {
    throw fail(`id_token_signed_response_alg "${alg}" is not supported; use one of ${SIGNING_ALGS.join(', ')}`);
  }
  if (client[REFRESH_POLICY] !== undefined) {
    if (!grantTypes.includes('refresh_token')) throw fail(`${REFRESH_POLICY} needs the refresh_token grant type`);
    checkPolicy(client[REFRESH_POLICY], maxTtlS, fail);
  }
  return client;
}

/** private_key_jwt: the client's public keys, inline (a jwks_uri would be fetched from the client's host, which the IdP's outgoing-call guard may refuse). */
function checkPublicKeys(client: ClientMetadata, fail: (problem: string) => ConfigError): void {
  const keys = (client.jwks as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw fail('private_key_jwt needs "jwks": {"keys": [...]} with the public key(s) the client signs with (jwks_uri is not supported)');
  // The likeliest mistake: the client's private key pasted in whole.
  if (keys.some((key) => (key as { d?: unknown } | null)?.d !== undefined)) throw fail('jwks must hold public keys only: a key has its private part "d"');
}

function checkPolicy(policy: unknown, maxTtlS: number, fail: (problem: string) => ConfigError): void {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw fail(`${REFRESH_POLICY} must be an object`);
  const fields = policy as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !POLICY_FIELDS.includes(key));
  if (unknown !== undefined) throw fail(`${REFRESH_POLICY}.${unknown} is unknown; use ${POLICY_FIELDS.join(', ')}`);
  const { ttl_s: ttl, rotate, reuse_grace_s: grace } = fields;
  const isSeconds = (value: unknown, min: number, max: number) => Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
  if (ttl !== undefined && !isSeconds(ttl, 1, maxTtlS)) throw fail(`${REFRESH_POLICY}.ttl_s must be an integer between 1 and ${maxTtlS} (the session cap)`);
  if (rotate !== undefined && typeof rotate !== 'boolean') throw fail(`${REFRESH_POLICY}.rotate must be true or false`);
  const maxGrace = typeof ttl === 'number' ? ttl : maxTtlS;
  if (grace !== undefined && !isSeconds(grace, 0, maxGrace)) throw fail(`${REFRESH_POLICY}.reuse_grace_s must be an integer between 0 and ${maxGrace} (ttl_s)`);
}

/** Each client's refresh policy: its `x_refresh` over the IdP-wide defaults (IDP_REFRESH_TOKEN_TTL, rotation, IDP_REFRESH_REUSE_GRACE_S). */
export function refreshPolicies({ clients, ttl, refreshReuseGraceS }: Pick<IdpConfig, 'clients' | 'ttl' | 'refreshReuseGraceS'>): (clientId: string) => RefreshPolicy {
  const defaults: RefreshPolicy = { ttlS: ttl.refreshToken, rotate: true, reuseGraceS: refreshReuseGraceS };
  const byId = new Map(
    clients.map((client) => {
      const own = (client[REFRESH_POLICY] ?? {}) as { ttl_s?: number; rotate?: boolean; reuse_grace_s?: number };
      const ttlS = own.ttl_s ?? defaults.ttlS;
      // The window never outlives the token it answers for.
      return [client.client_id, { ttlS, rotate: own.rotate ?? defaults.rotate, reuseGraceS: own.reuse_grace_s ?? Math.min(defaults.reuseGraceS, ttlS) }];
    }),
  );
  return (clientId) => byId.get(clientId) ?? defaults;
}

/** oidc-provider checks static clients only when one is first used: check them all now, so a bad entry stops the start, not a sign-in. */
export async function validateClients(provider: Provider, clients: ClientMetadata[]): Promise<void> {
  for (const client of clients) {
    const { [REFRESH_POLICY]: _policy, ...metadata } = client;
    await provider.Client.validate(metadata).catch((error: { error_description?: string; message: string }) => {
      throw new ConfigError(`client "${client.client_id}": ${error.error_description ?? error.message}`);
    });
  }
}
