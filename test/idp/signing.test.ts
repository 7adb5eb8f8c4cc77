import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { defaultClients } from '../../idp/config.js';
import { type TestIdp, codeFlowTokens, discover, refreshTokens, startTestIdp } from '../helpers/idp.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp({
    clients: [
      ...defaultClients({ appBaseUrl: 'http://localhost:3000', mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' }),
      {
        client_id: 'rs',
        client_secret: 'rs-test-secret-000001',
        redirect_uris: ['https://rs.example.com/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        id_token_signed_response_alg: 'RS256',
      },
    ],
  });
});
afterAll(async () => {
  await idp.close();
});

describe('RS256 and ES256', () => {
  test('discovery advertises both, and the JWKS publishes a key for each', async () => {
    const metadata = await discover(idp);
    expect([...(metadata.id_token_signing_alg_values_supported as string[])].sort()).toEqual(['ES256', 'RS256']);
    const jwks = (await (await fetch(String(metadata.jwks_uri))).json()) as { keys: { alg: string; kty: string }[] };
    expect(jwks.keys.map(({ alg, kty }) => `${alg} ${kty}`).sort()).toEqual(['ES256 EC', 'RS256 RSA']);
  });

  test('a client with id_token_signed_response_alg RS256 gets RS256 id tokens, at sign-in and refresh, that verify against the JWKS', async () => {
    const keys = createRemoteJWKSet(new URL(String((await discover(idp)).jwks_uri)));
    const tokens = await codeFlowTokens(idp, 'rs');
    const refreshed = String((await refreshTokens(idp, tokens.refresh_token!, 'rs')).body.id_token);
    for (const idToken of [tokens.id_token, refreshed]) {
      expect(decodeProtectedHeader(idToken).alg).toBe('RS256');
      const { payload } = await jwtVerify(idToken, keys, { issuer: idp.url, audience: 'rs', algorithms: ['RS256'] });
      expect(payload.sub).toBe('bob');
    }
  });

  test('mvc keeps ES256 (small id tokens for its cookie)', async () => {
    expect(decodeProtectedHeader((await codeFlowTokens(idp, 'mvc')).id_token).alg).toBe('ES256');
  });
});
