/**
 * An https APP_BASE_URL means `Secure` `__Host-` cookies, which a browser keeps only from a secure request. When the
 * app sees the request as plain http (no TLS proxy in front, or one it does not trust), sign-in cannot work: the app
 * says so in the log and on the page, instead of looping through the IdP.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { createLogger } from '../../common/log.js';
import { signIn, startTestApp } from '../helpers/app.js';
import { type TestIdp, startTestIdp } from '../helpers/idp.js';

const BASE = 'https://app.example';
let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp({ appBaseUrl: BASE });
});
afterAll(async () => {
  await idp.close();
});

async function httpsApp(trustProxy: boolean | string[] = ['loopback']) {
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger('app', 'info', (line) => void lines.push(JSON.parse(line) as { level: string; msg: string }));
  const app = await startTestApp(idp, { config: { baseUrl: new URL(BASE), trustProxy }, deps: { logger } });
  return { ...app, lines };
}

const EXPLAINED = /APP_BASE_URL is https but this request is not secure.*TRUST_PROXY/;

describe('https APP_BASE_URL, request seen as http', () => {
  test.each([
    ['no X-Forwarded-Proto (no TLS proxy in front)', ['loopback'], {}],
    ['X-Forwarded-Proto: https from a proxy that is not trusted', false, { 'X-Forwarded-Proto': 'https' }],
    ['X-Forwarded-Proto: https from an address outside TRUST_PROXY', ['10.0.0.1'], { 'X-Forwarded-Proto': 'https' }],
  ] as const)('%s: /login and /signin-oidc answer a page that says why, and the log says what to set', async (_name, trust, headers) => {
    const { app, lines, close } = await httpsApp(typeof trust === 'boolean' ? trust : [...trust]);
    for (const path of ['/login?returnTo=%2Fabout', '/signin-oidc?code=x&state=y']) {
      const res = await request(app).get(path).set(headers);
      expect(res.status).toBe(500);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.text).toContain('secure connection');
    }
    const warnings = lines.filter((line) => EXPLAINED.test(line.msg));
    expect(warnings.map((line) => line.level)).toEqual(['warn', 'warn']);
    await close();
  });

  test('through a trusted TLS proxy (X-Forwarded-Proto: https from loopback) sign-in works as before', async () => {
    const { app, lines, close } = await httpsApp();
    const { cookie } = await signIn(app, '/about', { secure: true });
    expect(cookie.name).toBe('__Host-auth');
    expect(lines.filter((line) => EXPLAINED.test(line.msg))).toEqual([]);
    await close();
  });
});
