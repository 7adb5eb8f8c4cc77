/** The real IdP in-process for tests, and the client side of the code flow against it (sign-in.ts fills in its login form). */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { silentLogger } from '../../common/log.js';
import { type AccountClaims, DEFAULT_ACCOUNTS } from '../../idp/accounts.js';
import { type IdpConfig, type IdpTtl, type StoreKind, defaultClients } from '../../idp/config.js';
import { type Idp, type IdpDeps, createIdp } from '../../idp/app.js';
import { deleteRedisKeys, redisReachable } from './redis.js';
import { type Browser, SignOutError, confirmSignOut, signInAtIdp } from './sign-in.js';

export const TEST_APP_BASE_URL = 'http://localhost:3000';

export type TestIdpOverrides = Omit<Partial<IdpConfig>, 'ttl'> & {
  ttl?: Partial<IdpTtl>;
  /** Where the `mvc` client's redirect URIs point (ignored when `clients` is given). */
  appBaseUrl?: string;
  /** Passed to createIdp; the logger is silent unless given. */
  deps?: IdpDeps;
};

export interface TestIdp {
  /** The issuer, `http://127.0.0.1:<port>`. */
  url: string;
  config: IdpConfig;
  /** The current instance (restart() replaces it). */
  readonly idp: Idp;
  /** Token requests with grant_type=refresh_token answered so far, successes and refusals alike. */
  refreshCalls(): number;
  /** Every token request answered so far. */
  grantCalls(): number;
  /** A process restart as far as state goes: a new IdP on the same config, data and port. Memory stores start empty. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Memory store, temporary data directory and issuer `http://127.0.0.1:<port>` unless overridden. A data directory
 * or Redis prefix the test passes in is left in place; the ones made up here are removed by close().
 */
export async function startTestIdp(overrides: TestIdpOverrides = {}): Promise<TestIdp> {
  const cleanups: (() => Promise<void>)[] = [];
  const { ttl, appBaseUrl = TEST_APP_BASE_URL, deps, ...rest } = overrides;
  const dataDir = rest.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'idp-test-')));
  if (!rest.dataDir) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const redisPrefix = rest.redisPrefix ?? `idp-test:${randomBytes(6).toString('hex')}:`;
  const redisUrl = rest.redisUrl ?? process.env.REDIS_URL;
  if (rest.store === 'redis' && !rest.redisPrefix) cleanups.push(() => deleteRedisKeys(redisUrl!, redisPrefix));

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(rest.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const config: IdpConfig = {
    port,
    issuer: url,
    dataDir,
    store: 'memory',
    redisUrl,
    redisPrefix,
    // The shared test Redis keeps nothing on disk.
    redisAllowVolatile: true,
    redisCommandTimeoutMs: 1000,
    refreshReuseGraceS: 30,
    cookieKeys: ['test-idp-cookie-key-0000000001'],
    clients: defaultClients({ appBaseUrl, mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' }),
    accountsFile: path.join(dataDir, 'accounts.json'),
    trustProxy: ['loopback'],
    logLevel: 'error',
    ...rest,
    ttl: { accessToken: 60, refreshToken: 60, idToken: 60, session: 8 * 3600, ...ttl },
  };

  const calls = { grants: 0, refreshes: 0 };
  const start = async () => {
    const started = await createIdp(config, { logger: silentLogger, ...deps });
    countTokenRequests(started.provider, calls);
    return started;
  };
  let idp = await start();
  server.on('request', (req, res) => idp.app(req, res));

  return {
    url,
    config,
    get idp() {
      return idp;
    },
    refreshCalls: () => calls.refreshes,
    grantCalls: () => calls.grants,
    async restart() {
      await idp.close();
      idp = await start();
    },
    async close() {
      await closeServer(server);
      await idp.close();
      for (const cleanup of cleanups) await cleanup();
    },
  };
}

function countTokenRequests(provider: Provider, calls: { grants: number; refreshes: number }) {
  const count = (ctx: KoaContextWithOIDC) => {
    calls.grants += 1;
    if (ctx.oidc.params?.grant_type === 'refresh_token') calls.refreshes += 1;
  };
  provider.on('grant.success', count);
  provider.on('grant.error', count);
}

function closeServer(server: Server) {
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  return closed;
}

/** Bob's claims edited in the IdP's accounts file, as an operator would: the IdP reads them at the next token request. */
export function editBobClaims(testIdp: TestIdp, claims: Partial<AccountClaims>): Promise<void> {
  const bob = DEFAULT_ACCOUNTS[0]!;
  return writeFile(testIdp.config.accountsFile, JSON.stringify([{ ...bob, claims: { ...bob.claims, ...claims } }]));
}

/** The accounts file removed: the built-in bob again, for the next test. */
export function restoreAccounts(testIdp: TestIdp): Promise<void> {
  return rm(testIdp.config.accountsFile, { force: true });
}

/**
 * Store-parametrised suites: `for (const [store, suite] of await storeSuites()) suite(`${store} store`, …)`.
 * The Redis one is skipped, with a warning, when REDIS_URL is unset or unreachable.
 */
export async function storeSuites(kinds: readonly StoreKind[] = ['memory', 'sqlite', 'redis']) {
  // Imported here, not at the top: scripts (npm run chaos) use these helpers outside Jest, where @jest/globals throws.
  const { describe } = await import('@jest/globals');
  const redisUp = kinds.includes('redis') && (await redisReachable(process.env.REDIS_URL));
  if (kinds.includes('redis') && !redisUp) {
    console.warn(`SKIPPED: IdP Redis store suites need a reachable Redis (REDIS_URL=${process.env.REDIS_URL ?? 'unset'})`);
  }
  return kinds.map((store) => [store, store === 'redis' && !redisUp ? describe.skip : describe] as const);
}

// ---------------------------------------------------------------------------------------------------------------
// The client side

export interface TokenResponse {
  access_token: string;
  id_token: string;
  refresh_token?: string;
  expires_in: number;
  token_type: string;
  scope?: string;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** What the BFF asks for (APP_SCOPE): no offline_access, so its refresh tokens stay bound to the IdP session. */
export const FULL_SCOPE = 'openid profile email';

export function clientSecret(testIdp: TestIdp, clientId: string): string {
  const client = testIdp.config.clients.find((candidate) => candidate.client_id === clientId);
  if (!client?.client_secret) throw new Error(`no client ${clientId} with a secret in the test IdP`);
  return client.client_secret;
}

/** The IdP's endpoints, from its discovery document. */
export async function discover(testIdp: TestIdp): Promise<Record<string, string | string[]>> {
  return (await (await fetch(`${testIdp.url}/.well-known/openid-configuration`)).json()) as Record<string, string | string[]>;
}

async function endpoint(testIdp: TestIdp, name: string): Promise<string> {
  return String((await discover(testIdp))[name]);
}

/** A form POST to the IdP, as `clientId` with client_secret_basic when given. */
export async function postForm(url: string, form: Record<string, string>, client?: { id: string; secret: string }): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (client) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function callEndpoint(testIdp: TestIdp, name: 'token_endpoint' | 'introspection_endpoint' | 'revocation_endpoint', form: Record<string, string>, clientId = 'mvc') {
  return postForm(await endpoint(testIdp, name), form, { id: clientId, secret: clientSecret(testIdp, clientId) });
}

export function refreshTokens(testIdp: TestIdp, refreshToken: string, clientId = 'mvc') {
  return callEndpoint(testIdp, 'token_endpoint', { grant_type: 'refresh_token', refresh_token: refreshToken }, clientId);
}

/** Introspection as the API, the IdP's resource server. */
export function introspect(testIdp: TestIdp, token: string, clientId = 'api') {
  return callEndpoint(testIdp, 'introspection_endpoint', { token }, clientId);
}

export async function userinfo(testIdp: TestIdp, accessToken: string): Promise<Answer> {
  const res = await fetch(await endpoint(testIdp, 'userinfo_endpoint'), { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export interface AuthorizationRequest {
  url: URL;
  clientId: string;
  redirectUri: string;
  state: string;
  codeVerifier: string;
}

/** An authorization code request with PKCE (S256), state and nonce. */
export async function authorizationRequest(testIdp: TestIdp, clientId = 'mvc', scope = FULL_SCOPE): Promise<AuthorizationRequest> {
  const client = testIdp.config.clients.find((candidate) => candidate.client_id === clientId);
  const redirectUri = client?.redirect_uris?.[0];
  if (!redirectUri) throw new Error(`client ${clientId} has no redirect_uri`);
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const url = new URL(await endpoint(testIdp, 'authorization_endpoint'));
  url.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope,
    redirect_uri: redirectUri,
    state,
    nonce: randomBytes(16).toString('base64url'),
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return { url, clientId, redirectUri, state, codeVerifier };
}

/** The token request that ends the code flow; throws unless the IdP answers 200. */
export async function exchangeCode(testIdp: TestIdp, request: AuthorizationRequest, redirect: URL, secret = clientSecret(testIdp, request.clientId)): Promise<TokenResponse> {
  const code = redirect.searchParams.get('code');
  if (!code || redirect.searchParams.get('state') !== request.state) throw new Error(`bad authorization response: ${redirect.href}`);
  const form = { grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, code_verifier: request.codeVerifier };
  const answer = await postForm(await endpoint(testIdp, 'token_endpoint'), form, { id: request.clientId, secret });
  if (answer.status !== 200) throw new Error(`code exchange answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as TokenResponse;
}

/** The whole code flow as bob, keeping what the browser ends up with: the redirect it followed and the IdP's cookies (`browser` holds them). */
export async function browserCodeFlow(testIdp: TestIdp, clientId = 'mvc', secret = clientSecret(testIdp, clientId)) {
  const request = await authorizationRequest(testIdp, clientId);
  const { redirect, cookies, browser } = await signInAtIdp(request.url);
  return { tokens: await exchangeCode(testIdp, request, redirect, secret), redirect, cookies, browser };
}

/** The code flow as bob: PKCE authorization request, browser sign-in, code exchange with client_secret_basic. */
export async function codeFlowTokens(testIdp: TestIdp, clientId = 'mvc', secret = clientSecret(testIdp, clientId)): Promise<TokenResponse> {
  return (await browserCodeFlow(testIdp, clientId, secret)).tokens;
}

/** RP-initiated logout as a browser holding the IdP's cookies does it: the end-session page with id_token_hint, then "Yes, sign me out". */
export async function endIdpSession(testIdp: TestIdp, browser: Browser, idToken: string, postLogoutRedirectUri?: string): Promise<Response> {
  const url = new URL(String((await discover(testIdp)).end_session_endpoint));
  url.searchParams.set('id_token_hint', idToken);
  if (postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
  const confirmed = await confirmSignOut(browser, url);
  if (confirmed.status !== 303) throw new SignOutError(`logout confirmation answered ${confirmed.status}`);
  return confirmed;
}
