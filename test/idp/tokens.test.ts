import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { defaultClients } from '../../idp/config.js';
import {
  TEST_APP_BASE_URL,
  type TestIdp,
  callEndpoint,
  codeFlowTokens,
  editBobClaims,
  introspect,
  refreshTokens,
  restoreAccounts,
  startTestIdp,
  storeSuites,
  userinfo,
} from '../helpers/idp.js';

/** A second client allowed to refresh: it must not be able to use mvc's refresh tokens. */
const OTHER_CLIENT = {
  client_id: 'other',
  client_secret: 'other-test-secret',
  redirect_uris: ['http://localhost:3001/signin-oidc'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code' as const],
};

for (const [store, suite] of await storeSuites()) {
  suite(`tokens on the ${store} store`, () => {
    let idp: TestIdp;
    beforeAll(async () => {
      const clients = [...defaultClients({ appBaseUrl: TEST_APP_BASE_URL, mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' }), OTHER_CLIENT];
      // oidc-provider's own rotation, without the reuse grace window (refresh-grace.test.ts covers it).
      idp = await startTestIdp({ store, clients, refreshReuseGraceS: 0 });
    });
    afterEach(async () => {
      await restoreAccounts(idp);
    });
    afterAll(async () => {
      await idp.close();
    });

    const refreshOk = async (refreshToken: string) => {
      const answer = await refreshTokens(idp, refreshToken);
      expect(answer.status).toBe(200);
      return answer.body as { access_token: string; refresh_token: string; id_token: string; expires_in: number };
    };
    const refused = async (refreshToken: string, clientId = 'mvc') => {
      expect(await refreshTokens(idp, refreshToken, clientId)).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_grant' }) });
    };

    test('code flow + PKCE: id, access and refresh tokens that live 60 s', async () => {
      const tokens = await codeFlowTokens(idp);
      expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 60 });
      expect(tokens.access_token).toBeTruthy();
      expect(tokens.refresh_token).toBeTruthy();
      expect(decodeJwt(tokens.id_token).sub).toBe('bob');
      // The BFF's access token is for the API (resource-indicators.ts): its audience, the API's scopes.
      expect((await introspect(idp, tokens.access_token)).body).toMatchObject({ active: true, sub: 'bob', aud: 'http://localhost:5000/', scope: 'profile email' });
      const introspection = (await introspect(idp, tokens.refresh_token!, 'mvc')).body;
      expect(introspection).toMatchObject({ active: true, client_id: 'mvc', sub: 'bob' });
      expect(Number(introspection.exp) - Number(introspection.iat)).toBe(60);
    });

    test("another client's access token names no audience and is for UserInfo", async () => {
      const tokens = await codeFlowTokens(idp, OTHER_CLIENT.client_id, OTHER_CLIENT.client_secret);
      expect((await introspect(idp, tokens.access_token)).body).not.toHaveProperty('aud');
      expect((await userinfo(idp, tokens.access_token)).body).toMatchObject({ sub: 'bob', email: 'bob@example.com' });
    });

    test('a refresh rotates: new tokens, and the old refresh token is refused', async () => {
      const first = await codeFlowTokens(idp);
      const second = await refreshOk(first.refresh_token!);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.expires_in).toBe(60);
      expect(decodeJwt(second.id_token).sub).toBe('bob');
      await refused(first.refresh_token!);
    });

    test('reusing a used refresh token revokes the grant: the newest one dies too', async () => {
      const first = await codeFlowTokens(idp);
      const second = await refreshOk(first.refresh_token!);
      await refused(first.refresh_token!);
      await refused(second.refresh_token);
      expect((await introspect(idp, second.access_token)).body).toEqual({ active: false });
    });

    test('concurrent uses of one refresh token: at most one succeeds, and the grant ends', async () => {
      const tokens = await codeFlowTokens(idp);
      const answers = await Promise.all(Array.from({ length: 4 }, () => refreshTokens(idp, tokens.refresh_token!)));
      expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(1);
      for (const answer of answers.filter((answer) => answer.status === 200)) await refused(String(answer.body.refresh_token));
    });

    test("another client presenting mvc's refresh token gets invalid_grant", async () => {
      const tokens = await codeFlowTokens(idp);
      await refused(tokens.refresh_token!, OTHER_CLIENT.client_id);
      await refreshOk(tokens.refresh_token!);
    });

    test('revoking the refresh token: introspection says inactive, for it and for the access token', async () => {
      const tokens = await codeFlowTokens(idp);
      expect((await callEndpoint(idp, 'revocation_endpoint', { token: tokens.refresh_token!, token_type_hint: 'refresh_token' })).status).toBe(200);
      expect((await introspect(idp, tokens.refresh_token!, 'mvc')).body).toEqual({ active: false });
      expect((await introspect(idp, tokens.access_token)).body).toEqual({ active: false });
      await refused(tokens.refresh_token!);
    });

    test("an edited role shows in the next refresh's id token and access token", async () => {
      const tokens = await codeFlowTokens(idp);
      expect(decodeJwt(tokens.id_token).role).toBe('user');
      await editBobClaims(idp, { role: 'admin' });
      const refreshed = await refreshOk(tokens.refresh_token!);
      expect(decodeJwt(refreshed.id_token).role).toBe('admin');
      expect((await introspect(idp, refreshed.access_token)).body).toMatchObject({ role: 'admin' });
    });

    if (store !== 'memory') {
      test('tokens survive an IdP restart', async () => {
        const tokens = await codeFlowTokens(idp);
        await idp.restart();
        expect((await introspect(idp, tokens.access_token)).body).toMatchObject({ active: true, sub: 'bob' });
        const refreshed = await refreshOk(tokens.refresh_token!);
        expect((await introspect(idp, refreshed.access_token)).body.active).toBe(true);
      });
    }
  });
}
