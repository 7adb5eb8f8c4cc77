import { describe, expect, test } from '@jest/globals';
import { readAppConfig } from '../../app/config.js';
import { DEMO_SECRETS } from '../../common/env.js';
import { ConfigError } from '../../common/errors.js';

const OWN = { APP_COOKIE_KEYS: 'our-own-cookie-key-000000001', MVC_CLIENT_SECRET: 'our-own-mvc-secret-0001' };
const PUBLIC = { APP_BASE_URL: 'https://app.example.com', IDP_ISSUER: 'https://id.example.com' };

describe('readAppConfig: no public secrets outside the demo', () => {
  test('the demo on localhost starts on the demo secrets, trusting a proxy on loopback', () => {
    expect(readAppConfig({})).toMatchObject({ cookieKeys: [DEMO_SECRETS.APP_COOKIE_KEYS], clientSecret: DEMO_SECRETS.MVC_CLIENT_SECRET, trustProxy: ['loopback'] });
    expect(readAppConfig({ APP_BASE_URL: 'http://127.0.0.1:3000' }).cookieKeys).toEqual([DEMO_SECRETS.APP_COOKIE_KEYS]);
  });

  test('a public base URL without its own secrets is refused, naming every missing one', () => {
    expect(() => readAppConfig(PUBLIC)).toThrow(ConfigError);
    expect(() => readAppConfig(PUBLIC)).toThrow(/https:\/\/app\.example\.com.*set APP_COOKIE_KEYS, MVC_CLIENT_SECRET/);
  });

  test.each([
    [{ ...OWN, APP_COOKIE_KEYS: DEMO_SECRETS.APP_COOKIE_KEYS }, /demo value of APP_COOKIE_KEYS/],
    // An old demo key kept for rotation would still let anyone forge cookies.
    [{ ...OWN, APP_COOKIE_KEYS: `${OWN.APP_COOKIE_KEYS},${DEMO_SECRETS.APP_COOKIE_KEYS}` }, /demo value of APP_COOKIE_KEYS/],
    [{ ...OWN, MVC_CLIENT_SECRET: DEMO_SECRETS.MVC_CLIENT_SECRET }, /demo value of MVC_CLIENT_SECRET/],
    [{ APP_COOKIE_KEYS: OWN.APP_COOKIE_KEYS }, /set MVC_CLIENT_SECRET/],
  ])('demo or missing secrets on a public URL: %j', (secrets, message) => {
    expect(() => readAppConfig({ ...PUBLIC, ...secrets })).toThrow(message);
  });

  test('its own secrets: starts', () => {
    expect(readAppConfig({ ...PUBLIC, ...OWN })).toMatchObject({ cookieKeys: [OWN.APP_COOKIE_KEYS], clientSecret: OWN.MVC_CLIENT_SECRET });
  });
});

describe('TRUST_PROXY', () => {
  test.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['loopback, 10.0.0.0/8, fd00::/8, 192.168.1.1/255.255.255.0', ['loopback', '10.0.0.0/8', 'fd00::/8', '192.168.1.1/255.255.255.0']],
  ])('%s', (value, expected) => {
    expect(readAppConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  test.each(['proxy.example.com', '10.0.0.0/8/1', '10.0.0.300', '-1'])('refuses %s', (value) => {
    expect(() => readAppConfig({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY/);
  });
});
