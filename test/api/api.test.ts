/** The API alone against the real IdP: bearer checks, the introspection cache, and introspection vs local JWT validation. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { createApi } from '../../api/app.js';
import { createLogger, silentLogger } from '../../common/log.js';
import { type AccessTokenFormat, defaultClients } from '../../idp/config.js';
import { revokeAccount } from '../../idp/revoke.js';
import type { StoreBackend } from '../../idp/store/backend.js';
import { openStore } from '../../idp/store/open.js';
import { type TestApi, startTestApi, testApiConfig } from '../helpers/api.js';
import { testClock } from '../helpers/app.js';
import {
  TEST_APP_BASE_URL,
  type TestIdp,
  authorizationRequest,
  codeFlowTokens,
  editBobClaims,
  exchangeCode,
  refreshTokens,
  restoreAccounts,
  startTestIdp,
  userinfo,
} from '../helpers/idp.js';
import { signInAtIdp } from '../helpers/sign-in.js';

const CACHE_MS = 5000;

/** Moves the API's clock to the token's `exp`, the first instant it is expired (exp is in whole seconds: not simply start + 60 s). */
function advanceToExpiry(api: TestApi, exp: unknown) {
  api.clock.advance(Number(exp) * 1000 - api.clock.now());
}

/** Each test gets its own API and clock: moving time in one must not expire the next one's tokens. */
function apiPerTest(idp: () => TestIdp) {
  const started: TestApi[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((api) => api.close()));
  });
  return async (config: Parameters<typeof startTestApi>[1] = {}) => {
    const api = await startTestApi(idp(), { ...config, config: { introspectionCacheMs: CACHE_MS, ...config.config } });
    started.push(api);
    return api;
  };
}

/** A relying party that signs users in but does not call the API: its access tokens are for UserInfo only. */
const RP = { client_id: 'rp', client_secret: 'rp-test-secret-0001', redirect_uris: ['http://localhost:3001/signin-oidc'], grant_types: ['authorization_code'] };

describe('introspection mode (opaque access tokens)', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp({ clients: [...defaultClients({ appBaseUrl: TEST_APP_BASE_URL, mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' }), RP] });
  });
  afterAll(async () => {
    await idp.close();
  });
  const startApi = apiPerTest(() => idp);

  test('/healthz, helmet headers, JSON 404', async () => {
    const app = createApi(testApiConfig(idp), { logger: silentLogger });
    expect((await request(app).get('/healthz')).body).toEqual({ status: 'ok' });
    const missing = await request(app).get('/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found' });
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
    expect(missing.headers['x-powered-by']).toBeUndefined();
  });

  test('a valid token: 200 with sub and role; a second call within the cache time does not ask the IdP', async () => {
    const api = await startApi();
    const { access_token } = await codeFlowTokens(idp);
    const first = await api.profile(access_token);
    expect(first).toMatchObject({ status: 200, body: { sub: 'bob', role: 'user', client_id: 'mvc', validated_by: 'introspection' } });
    expect(String(first.body.scope).split(' ')).toContain('profile');
    await api.profile(access_token);
    expect(api.introspections()).toBe(1);
    api.clock.advance(CACHE_MS);
    await api.profile(access_token);
    expect(api.introspections()).toBe(2);
  });

  // RFC 6750 §3.1: no error code when no token came, `invalid_token` when one came and failed.
  test.each([
    ['no Authorization header', undefined, undefined, /^Bearer realm="api"$/],
    ['another scheme', 'Ym9iOnNlY3JldA==', 'Basic', /^Bearer realm="api"$/],
    ['a garbage token', 'garbage', 'Bearer', /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/],
    ['a JWT-shaped token the IdP refuses to introspect', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', 'Bearer', /error="invalid_token"/],
  ])('%s: 401 with a WWW-Authenticate challenge', async (_name, token, scheme, challenge) => {
    const answer = await (await startApi()).profile(token, scheme);
    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(challenge);
    expect(answer.body).toHaveProperty('error');
  });

  test('an expired token: 401, and a cached answer never outlives the token', async () => {
    const api = await startApi({ config: { introspectionCacheMs: 300_000 } });
    const { access_token } = await codeFlowTokens(idp);
    const valid = await api.profile(access_token);
    expect(valid.status).toBe(200);
    advanceToExpiry(api, valid.body.exp);
    const expired = await api.profile(access_token);
    expect(expired.status).toBe(401);
    expect(expired.challenge).toContain('error="invalid_token"');
  });

  test('only a token for the API: an active one naming no audience (a UserInfo token) or another audience is a 401, logged with why', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('api', 'info', (line) => void lines.push(JSON.parse(line) as Record<string, unknown>));
    const api = await startApi({ logger });
    const theirs = await codeFlowTokens(idp, RP.client_id);
    expect((await userinfo(idp, theirs.access_token)).status).toBe(200);
    expect(await api.profile(theirs.access_token)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    const ours = await codeFlowTokens(idp);
    expect((await api.profile(ours.access_token)).status).toBe(200);
    const elsewhere = await startApi({ config: { audience: ['https://orders.example.com/'] }, logger });
    expect((await elsewhere.profile(ours.access_token)).status).toBe(401);
    const refusals = lines.filter((line) => line.msg === 'request refused').map(({ status, reason }) => ({ status, reason }));
    console.log(`API refusals over the audience: ${JSON.stringify(refusals)}`);
    expect(refusals).toEqual([
      { status: 401, reason: 'the access token names no audience' },
      { status: 401, reason: 'the access token is for another audience (http://localhost:5000/)' },
    ]);
  });

  test('a token without the profile scope: 403 insufficient_scope', async () => {
    const api = await startApi();
    const authorization = await authorizationRequest(idp, 'mvc', 'openid email');
    const { access_token } = await exchangeCode(idp, authorization, (await signInAtIdp(authorization.url)).redirect);
    const answer = await api.profile(access_token);
    expect(answer.status).toBe(403);
    expect(answer.challenge).toBe('Bearer realm="api", error="insufficient_scope", error_description="the profile scope is required", scope="profile"');
  });

  test('an unreachable IdP or wrong API credentials: 503, not 401 (the token may be fine)', async () => {
    const { access_token } = await codeFlowTokens(idp);
    for (const config of [{ issuer: new URL('http://127.0.0.1:9') }, { clientSecret: 'wrong-secret' }]) {
      const answer = await (await startApi({ config })).profile(access_token);
      expect(answer).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    }
  });
});

describe('JWT mode (resource-bound JWT access tokens, validated locally)', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp({ accessTokenFormat: 'jwt' });
  });
  afterEach(async () => {
    await restoreAccounts(idp);
  });
  afterAll(async () => {
    await idp.close();
  });
  const startApi = apiPerTest(() => idp);

  test('the access token is an at+jwt for the API, with role; the API accepts it without asking the IdP', async () => {
    const api = await startApi();
    const { access_token, scope } = await codeFlowTokens(idp);
    expect(decodeProtectedHeader(access_token).typ).toBe('at+jwt');
    expect(decodeJwt(access_token)).toMatchObject({ sub: 'bob', aud: 'http://localhost:5000/', client_id: 'mvc', role: 'user', scope: 'profile email' });
    expect(scope).toBe('profile email');
    expect(await api.profile(access_token)).toMatchObject({ status: 200, body: { sub: 'bob', role: 'user', validated_by: 'jwt' } });
    expect(api.introspections()).toBe(0);
  });

  test('UserInfo refuses it: the token has an audience, the API (the BFF shows that refusal on About)', async () => {
    const { access_token } = await codeFlowTokens(idp);
    expect(await userinfo(idp, access_token)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  test('refresh rotates and keeps issuing API tokens; an edited role shows in the next one', async () => {
    const api = await startApi();
    const first = await codeFlowTokens(idp);
    await editBobClaims(idp, { role: 'admin' });
    const refreshed = await refreshTokens(idp, first.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(first.refresh_token);
    expect(await api.profile(String(refreshed.body.access_token))).toMatchObject({ status: 200, body: { role: 'admin' } });
    expect((await api.profile(first.access_token)).body.role).toBe('user');
    expect(decodeJwt(String(refreshed.body.id_token)).role).toBe('admin');
  });

  test('a tampered, expired, or other-audience token: 401', async () => {
    const { access_token } = await codeFlowTokens(idp);
    const [header, , signature] = access_token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...decodeJwt(access_token), role: 'admin' })).toString('base64url')}.${signature}`;
    const api = await startApi();
    expect((await api.profile(forged)).challenge).toContain('error="invalid_token"');
    expect((await (await startApi({ config: { audience: ['http://other.example/'] } })).profile(access_token)).status).toBe(401);
    advanceToExpiry(api, decodeJwt(access_token).exp);
    expect((await api.profile(access_token)).status).toBe(401);
  });

  test('an introspection-mode API cannot check these tokens (the IdP does not store JWTs): 401, not 503', async () => {
    const { access_token } = await codeFlowTokens(idp);
    expect((await (await startApi({ config: { validation: 'introspection' } })).profile(access_token)).status).toBe(401);
  });
});

/**
 * The trade-off, on one timeline: bob's token works, the operator revokes bob, time passes.
 * Introspection notices within its cache time; the locally validated JWT stays usable until it expires.
 * Either way the refresh token is dead at once, so a BFF session ends at its next renewal.
 */
describe.each<[AccessTokenFormat, { afterRevocation: number; afterCacheTime: number; afterExpiry: number }]>([
  ['opaque', { afterRevocation: 200, afterCacheTime: 401, afterExpiry: 401 }],
  ['jwt', { afterRevocation: 200, afterCacheTime: 200, afterExpiry: 401 }],
])('revocation with %s access tokens', (accessTokenFormat, expected) => {
  let idp: TestIdp;
  let operator: StoreBackend;
  beforeAll(async () => {
    idp = await startTestIdp({ store: 'sqlite', accessTokenFormat });
    operator = await openStore(idp.config);
  });
  afterAll(async () => {
    await operator.close();
    await idp.close();
  });
  const startApi = apiPerTest(() => idp);

  test(`API answers ${JSON.stringify(expected)}; the refresh token is refused at once`, async () => {
    const api = await startApi({ clock: testClock() });
    const tokens = await codeFlowTokens(idp);
    const valid = await api.profile(tokens.access_token);
    expect(valid.status).toBe(200);

    expect(await revokeAccount(operator, 'bob')).toHaveLength(1);
    expect(await refreshTokens(idp, tokens.refresh_token!)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const statuses = { afterRevocation: (await api.profile(tokens.access_token)).status, afterCacheTime: 0, afterExpiry: 0 };
    api.clock.advance(CACHE_MS);
    statuses.afterCacheTime = (await api.profile(tokens.access_token)).status;
    advanceToExpiry(api, valid.body.exp);
    statuses.afterExpiry = (await api.profile(tokens.access_token)).status;
    expect(statuses).toEqual(expected);
  });
});
