import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type TestIdp, type TokenResponse, clientSecret, codeFlowTokens, discover, introspect, startTestIdp } from '../helpers/idp.js';

let idp: TestIdp;
let tokens: TokenResponse;
beforeAll(async () => {
  idp = await startTestIdp();
  tokens = await codeFlowTokens(idp);
});
afterAll(async () => {
  await idp.close();
});

describe('introspection', () => {
  test('the API introspects access tokens but not another client’s refresh tokens', async () => {
    expect((await introspect(idp, tokens.access_token)).body).toMatchObject({ active: true, client_id: 'mvc' });
    expect((await introspect(idp, tokens.refresh_token!)).body).toEqual({ active: false });
    expect((await introspect(idp, tokens.refresh_token!, 'mvc')).body).toMatchObject({ active: true, client_id: 'mvc' });
  });
});

describe('a client authenticates only with its registered method', () => {
  const introspectWith = async (clientId: string, how: 'basic' | 'post') => {
    const secret = clientSecret(idp, clientId);
    const form = new URLSearchParams({ token: tokens.access_token, ...(how === 'post' ? { client_id: clientId, client_secret: secret } : {}) });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (how === 'basic') headers.authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    const res = await fetch(String((await discover(idp)).introspection_endpoint), { method: 'POST', headers, body: form });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('mvc and api are client_secret_basic: the same secret in the form is refused', async () => {
    expect((await introspectWith('api', 'basic')).status).toBe(200);
    expect(await introspectWith('api', 'post')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await introspectWith('mvc', 'post')).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  test('the token endpoint too: mvc refreshing with client_secret_post is refused', async () => {
    const endpoint = String((await discover(idp)).token_endpoint);
    const form = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token!, client_id: 'mvc', client_secret: clientSecret(idp, 'mvc') };
    const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });
});
