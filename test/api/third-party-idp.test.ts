/** The API behind another OpenID provider: an audience that is not a URL, JWT or introspection, and why each 401 happened. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { type ApiConfig, readApiConfig } from '../../api/config.js';
import { createApi } from '../../api/app.js';
import { ConfigError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';

const AUDIENCE = 'orders-api';
/** The API's own client at that IdP (API_CLIENT_ID, API_CLIENT_SECRET), for introspection. */
const API_CLIENT = { API_CLIENT_ID: 'orders', API_CLIENT_SECRET: 'orders-api-secret-0001' };

/** Just enough of another IdP: discovery, a JWKS and an introspection endpoint that answers what the test set. */
async function otherIdp() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'other-1', alg: 'RS256', use: 'sig' };
  let introspection: Record<string, unknown> = { active: false };
  const introspectedAs: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    if (req.url === '/introspect') introspectedAs.push(req.headers.authorization);
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const answers: Record<string, unknown> = {
      '/.well-known/openid-configuration': { issuer: base, jwks_uri: `${base}/keys`, introspection_endpoint: `${base}/introspect` },
      '/keys': { keys: [jwk] },
      '/introspect': introspection,
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answers[req.url!.split('?')[0]!] ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwt: (aud: string) =>
      new SignJWT({ scope: 'profile email', client_id: 'their-spa' })
        .setProtectedHeader({ alg: 'RS256', kid: 'other-1', typ: 'at+jwt' })
        .setIssuer(url)
        .setSubject('alice')
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey),
    answerIntrospection: (answer: Record<string, unknown>) => void (introspection = answer),
    introspectedAs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let idp: Awaited<ReturnType<typeof otherIdp>>;
beforeAll(async () => {
  idp = await otherIdp();
});
afterAll(async () => {
  await idp.close();
});

function api(validation: ApiConfig['validation']) {
  const lines: Record<string, unknown>[] = [];
  const config = readApiConfig({ IDP_ISSUER: idp.url, API_TOKEN_VALIDATION: validation, API_AUDIENCE: `${AUDIENCE},orders-api-v2`, ...API_CLIENT });
  const app = createApi(config, { logger: createLogger('api', 'info', (line) => void lines.push(JSON.parse(line) as Record<string, unknown>)) });
  const profile = (token?: string) => request(app).get('/api/profile').set(token ? { authorization: `Bearer ${token}` } : {});
  return { profile, refusals: () => lines.filter((line) => line.msg === 'request refused') };
}

describe('API_AUDIENCE', () => {
  test('any string or a comma-separated list; unset, the demo IdP resource indicator', () => {
    expect(readApiConfig({ API_AUDIENCE: 'api://orders', ...API_CLIENT }).audience).toEqual(['api://orders']);
    expect(readApiConfig({ API_AUDIENCE: 'a, b', ...API_CLIENT }).audience).toEqual(['a', 'b']);
    expect(readApiConfig({}).audience).toEqual(['http://localhost:5000/']);
    expect(readApiConfig({ API_CLIENT_ID: 'orders' }).clientId).toBe('orders');
    expect(() => readApiConfig({ API_AUDIENCE: ' , ' })).toThrow(ConfigError);
  });
});

describe("another IdP's tokens", () => {
  test('JWT validation: its audience is accepted; another one is a 401 whose log line says why', async () => {
    const { profile, refusals } = api('jwt');
    const ok = await profile(await idp.jwt(AUDIENCE));
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ sub: 'alice', client_id: 'their-spa' });
    expect((await profile(await idp.jwt('billing-api'))).status).toBe(401);
    expect((await profile()).status).toBe(401);
    console.log(`API refusals logged: ${JSON.stringify(refusals().map(({ status, reason, cause }) => ({ status, reason, cause })))}`);
    expect(refusals()).toEqual([
      expect.objectContaining({ status: 401, reason: 'the access token is not valid', cause: expect.objectContaining({ message: 'unexpected "aud" claim value' }) }),
      expect.objectContaining({ status: 401, reason: 'no Authorization header', path: '/api/profile' }),
    ]);
  });

  test('introspection: an active token for the audience is accepted; for another or none, a 401 saying so in the log', async () => {
    const { profile, refusals } = api('introspection');
    const active = { active: true, sub: 'alice', scope: 'profile', exp: Math.floor(Date.now() / 1000) + 300, client_id: 'their-spa' };
    idp.answerIntrospection({ ...active, aud: [AUDIENCE, 'other'] });
    expect((await profile('opaque-1')).status).toBe(200);
    idp.answerIntrospection({ ...active, aud: 'billing-api' });
    expect((await profile('opaque-2')).status).toBe(401);
    idp.answerIntrospection(active);
    expect((await profile('opaque-3')).status).toBe(401);
    idp.answerIntrospection({ ...active, scope: 'email', aud: AUDIENCE });
    expect((await profile('opaque-4')).status).toBe(403);
    expect(refusals()).toEqual([
      expect.objectContaining({ status: 401, reason: 'the access token is for another audience (billing-api)' }),
      expect.objectContaining({ status: 401, reason: 'the access token names no audience' }),
      expect.objectContaining({ status: 403, reason: 'the profile scope is missing', sub: 'alice', client: 'their-spa' }),
    ]);
    // As the configured client, RFC 6749 §2.3.1: each part form-encoded, then Basic.
    const credentials = idp.introspectedAs.map((header) => Buffer.from(header!.replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent));
    expect(new Set(credentials.map((pair) => pair.join(':')))).toEqual(new Set(['orders:orders-api-secret-0001']));
  });
});
