import { describe, expect, test } from '@jest/globals';
import { readApiConfig } from '../../api/config.js';
import { DEMO_SECRETS } from '../../common/env.js';
import { ConfigError } from '../../common/errors.js';

describe('readApiConfig: no public secrets outside the demo', () => {
  test('the demo on localhost starts on the demo secret, trusting a proxy on loopback', () => {
    expect(readApiConfig({})).toMatchObject({ clientSecret: DEMO_SECRETS.API_CLIENT_SECRET, trustProxy: ['loopback'] });
  });

  test.each([
    ['a public audience', { API_AUDIENCE: 'https://api.example.com/' }],
    ['a public resource indicator', { IDP_API_RESOURCE: 'https://api.example.com/' }],
    ['an identifier that is no URL', { API_AUDIENCE: 'urn:example:api' }],
    ['a public issuer', { IDP_ISSUER: 'https://id.example.com' }],
  ])('%s without API_CLIENT_SECRET is refused', (_what, env) => {
    expect(() => readApiConfig(env)).toThrow(ConfigError);
    expect(() => readApiConfig(env)).toThrow(/set API_CLIENT_SECRET/);
    expect(() => readApiConfig({ ...env, API_CLIENT_SECRET: DEMO_SECRETS.API_CLIENT_SECRET })).toThrow(/demo value of API_CLIENT_SECRET/);
    expect(readApiConfig({ ...env, API_CLIENT_SECRET: 'our-own-api-secret-0001' }).clientSecret).toBe('our-own-api-secret-0001');
  });

  test('local JWT validation needs no client secret', () => {
    expect(() => readApiConfig({ API_AUDIENCE: 'https://api.example.com/', API_TOKEN_VALIDATION: 'jwt' })).not.toThrow();
  });

  test('TRUST_PROXY is read', () => {
    expect(readApiConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });
});
