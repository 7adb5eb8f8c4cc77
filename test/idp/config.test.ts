import { describe, expect, test } from '@jest/globals';
import { DEMO_SECRETS } from '../../common/env.js';
import { ConfigError } from '../../common/errors.js';
import { readIdpConfig } from '../../idp/config.js';

const OWN = { IDP_COOKIE_KEYS: 'our-own-idp-cookie-key-0001', MVC_CLIENT_SECRET: 'our-own-mvc-secret-0001', API_CLIENT_SECRET: 'our-own-api-secret-0001' };

describe('readIdpConfig: no public secrets outside the demo', () => {
  test('the demo issuer on localhost starts on the demo secrets', () => {
    expect(readIdpConfig({}).cookieKeys).toEqual([DEMO_SECRETS.IDP_COOKIE_KEYS]);
    expect(readIdpConfig({}).trustProxy).toEqual(['loopback']);
  });

  test('a public issuer without its own secrets is refused, naming every missing one', () => {
    expect(() => readIdpConfig({ IDP_ISSUER: 'https://id.example.com' })).toThrow(ConfigError);
    expect(() => readIdpConfig({ IDP_ISSUER: 'https://id.example.com' })).toThrow(/set IDP_COOKIE_KEYS, MVC_CLIENT_SECRET, API_CLIENT_SECRET/);
    expect(() => readIdpConfig({ IDP_ISSUER: 'https://id.example.com', ...OWN, API_CLIENT_SECRET: DEMO_SECRETS.API_CLIENT_SECRET })).toThrow(
      /demo value of API_CLIENT_SECRET/,
    );
    expect(readIdpConfig({ IDP_ISSUER: 'https://id.example.com', ...OWN }).cookieKeys).toEqual([OWN.IDP_COOKIE_KEYS]);
  });

  test('TRUST_PROXY is read', () => {
    expect(readIdpConfig({ TRUST_PROXY: '10.0.0.0/8' }).trustProxy).toEqual(['10.0.0.0/8']);
    expect(() => readIdpConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
  });
});

describe('readIdpConfig', () => {
  test('safe demo defaults', () => {
    const config = readIdpConfig({});
    expect(config).toMatchObject({
      port: 4000,
      issuer: 'http://localhost:4000',
      dataDir: './data/idp',
      store: 'sqlite',
      accountsFile: 'data/idp/accounts.json',
      ttl: { accessToken: 60, refreshToken: 60, idToken: 60, session: 8 * 3600 },
      refreshReuseGraceS: 30,
      redisAllowVolatile: false,
    });
    expect(config.clients.map((client) => client.client_id)).toEqual(['mvc', 'api']);
    expect(config.clients[0]).toMatchObject({
      client_secret: 'mvc-demo-secret-change-me',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['http://localhost:3000/signin-oidc'],
      post_logout_redirect_uris: ['http://localhost:3000/'],
      grant_types: ['authorization_code', 'refresh_token'],
    });
  });

  test('reads the environment', () => {
    const config = readIdpConfig({
      IDP_PORT: '4100',
      IDP_ISSUER: 'https://id.example.com/',
      IDP_STORE: 'redis',
      REDIS_URL: 'redis://cache:6379',
      IDP_ACCESS_TOKEN_TTL: '30',
      APP_BASE_URL: 'https://app.example.com',
      ...OWN,
      MVC_CLIENT_SECRET: 'another-secret-value',
    });
    expect(config).toMatchObject({ port: 4100, issuer: 'https://id.example.com', store: 'redis', redisUrl: 'redis://cache:6379' });
    expect(config.ttl.accessToken).toBe(30);
    expect(config.clients[0]).toMatchObject({ client_secret: 'another-secret-value', redirect_uris: ['https://app.example.com/signin-oidc'] });
  });

  test('the reuse grace window never outlives a refresh token, and 0 turns it off', () => {
    expect(readIdpConfig({ IDP_REFRESH_TOKEN_TTL: '20' }).refreshReuseGraceS).toBe(20);
    expect(readIdpConfig({ IDP_REFRESH_REUSE_GRACE_S: '0' }).refreshReuseGraceS).toBe(0);
  });

  test.each([
    [{ IDP_PORT: '99999' }, /IDP_PORT/],
    [{ IDP_PORT: 'four' }, /IDP_PORT/],
    [{ IDP_COOKIE_KEYS: 'short' }, /IDP_COOKIE_KEYS/],
    [{ IDP_STORE: 'postgres' }, /IDP_STORE/],
    [{ IDP_STORE: 'redis' }, /REDIS_URL/],
    [{ IDP_ISSUER: 'not a url' }, /IDP_ISSUER/],
    [{ IDP_REFRESH_TOKEN_TTL: '0' }, /IDP_REFRESH_TOKEN_TTL/],
    [{ IDP_JWKS: '{"keys":[{"kty":"EC"}]}' }, /IDP_JWKS/],
    [{ IDP_REFRESH_REUSE_GRACE_S: '61' }, /IDP_REFRESH_REUSE_GRACE_S/],
    [{ IDP_REFRESH_TOKEN_TTL: '20', IDP_REFRESH_REUSE_GRACE_S: '21' }, /IDP_REFRESH_REUSE_GRACE_S must be an integer between 0 and 20/],
    [{ IDP_REDIS_ALLOW_VOLATILE: 'maybe' }, /IDP_REDIS_ALLOW_VOLATILE/],
  ])('rejects %j with a ConfigError', (env, message) => {
    expect(() => readIdpConfig(env)).toThrow(ConfigError);
    expect(() => readIdpConfig(env)).toThrow(message);
  });
});
