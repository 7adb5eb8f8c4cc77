import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { ClientMetadata } from 'oidc-provider';
import { defaultClients } from '../../idp/config.js';
import {
  type AuthorizationRequest,
  type TestIdp,
  authorizationRequest,
  callEndpoint,
  discover,
  endIdpSession,
  exchangeCode,
  postForm,
  startTestIdp,
} from '../helpers/idp.js';
import { signInAtIdp } from '../helpers/sign-in.js';

const OFFLINE = 'openid profile email offline_access';
const SECRET = 'scopes-test-secret-0001';
const client = (id: string, extra: Partial<ClientMetadata> = {}): ClientMetadata => ({
  client_id: id,
  client_secret: SECRET,
  redirect_uris: [`http://localhost:3002/${id}/callback`],
  post_logout_redirect_uris: ['http://localhost:3002/'],
  grant_types: ['authorization_code', 'refresh_token'],
  ...extra,
});

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp({
    clients: [
      ...defaultClients({ appBaseUrl: 'http://localhost:3000', mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' }),
      // Sends its configured scope again on every refresh, as mod_auth_openidc does.
      client('rp'),
      client('no-refresh', { grant_types: ['authorization_code'] }),
      client('narrow', { scope: 'openid profile email' }),
    ],
  });
});
afterAll(async () => {
  await idp.close();
});

async function signIn(clientId: string, scope: string) {
  const request = await authorizationRequest(idp, clientId, scope);
  const { redirect, browser } = await signInAtIdp(request.url);
  return { tokens: await exchangeCode(idp, request, redirect), browser };
}

const refreshWithScope = (clientId: string, refreshToken: string, scope: string) =>
  callEndpoint(idp, 'token_endpoint', { grant_type: 'refresh_token', refresh_token: refreshToken, scope }, clientId);

describe('offline_access means what it says', () => {
  test('asked for by a client that may refresh: granted, and the client may send its scope again on every refresh', async () => {
    const { tokens } = await signIn('rp', OFFLINE);
    expect(tokens.scope?.split(' ')).toContain('offline_access');
    let refreshToken = tokens.refresh_token!;
    for (let round = 1; round <= 3; round += 1) {
      const answer = await refreshWithScope('rp', refreshToken, OFFLINE);
      expect(answer).toMatchObject({ status: 200, body: { scope: expect.stringContaining('offline_access') } });
      refreshToken = String(answer.body.refresh_token);
    }
  });

  test('asked for by a client without the refresh_token grant: not granted, and no refresh token at all', async () => {
    const { tokens } = await signIn('no-refresh', OFFLINE);
    expect(tokens.scope?.split(' ')).not.toContain('offline_access');
    expect(tokens.refresh_token).toBeUndefined();
  });

  test('asked for by a client whose registered scope leaves it out: refused, not silently dropped', async () => {
    const request = await authorizationRequest(idp, 'narrow', OFFLINE);
    // Refused before any login: the error goes back to the client's redirect URI.
    const answer = (await signInAtIdp(request.url)).redirect;
    expect(answer.searchParams.get('error')).toBe('invalid_scope');
    expect(answer.searchParams.get('error_description')).toBe('requested scope is not allowed');
  });

  test('kept through a pushed authorization request (PAR) too', async () => {
    const plain = await authorizationRequest(idp, 'rp', OFFLINE);
    const pushed = await postForm(String((await discover(idp)).pushed_authorization_request_endpoint), Object.fromEntries(plain.url.searchParams), {
      id: 'rp',
      secret: SECRET,
    });
    expect(pushed.status).toBe(201);
    const url = new URL(plain.url.origin + plain.url.pathname);
    url.search = new URLSearchParams({ client_id: 'rp', request_uri: String(pushed.body.request_uri) }).toString();
    const request: AuthorizationRequest = { ...plain, url };
    const tokens = await exchangeCode(idp, request, (await signInAtIdp(url)).redirect);
    expect(tokens.scope?.split(' ')).toContain('offline_access');
  });

  test('without offline_access the refresh token is bound to the IdP session; with it, it outlives a sign-out there', async () => {
    const bound = await signIn('rp', 'openid profile email');
    const offline = await signIn('rp', OFFLINE);
    expect(bound.tokens.refresh_token).toBeDefined();
    for (const { tokens, browser } of [bound, offline]) await endIdpSession(idp, browser, tokens.id_token);
    expect((await refreshWithScope('rp', bound.tokens.refresh_token!, 'openid')).body).toMatchObject({ error: 'invalid_grant' });
    expect((await refreshWithScope('rp', offline.tokens.refresh_token!, OFFLINE)).status).toBe(200);
  });
});
