import { afterEach, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import type { TrustProxy } from '../../common/env.js';
import { type TestIdp, authorizationRequest, startTestIdp } from '../helpers/idp.js';

const FORWARDED = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'id.example.com', 'X-Forwarded-For': '203.0.113.7' };

let idp: TestIdp;
afterEach(async () => {
  await idp.close();
});

const start = async (trustProxy: TrustProxy) => {
  idp = await startTestIdp({ issuer: 'https://id.example.com', trustProxy });
  return idp.idp.app;
};

/** supertest connects from 127.0.0.1: the proxy is on loopback. */
const discovery = async (trustProxy: TrustProxy) => (await request(await start(trustProxy)).get('/.well-known/openid-configuration').set(FORWARDED)).body as Record<string, string>;

describe('IdP behind a TLS-terminating proxy (TRUST_PROXY)', () => {
  test('trusted (loopback, the default): discovery advertises the public https endpoints', async () => {
    const doc = await discovery(['loopback']);
    expect(doc.issuer).toBe('https://id.example.com');
    for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint', 'introspection_endpoint']) {
      expect(doc[name]).toMatch(/^https:\/\/id\.example\.com\//);
    }
  });

  test.each<[string, TrustProxy]>([
    ['TRUST_PROXY=false', false],
    ['a peer outside the trusted list', ['10.0.0.0/8']],
  ])('%s: the forwarded headers are ignored, whoever sends them', async (_what, trustProxy) => {
    const doc = await discovery(trustProxy);
    expect(doc.authorization_endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/auth$/);
  });

  test('the _interaction and resume cookies are Secure behind the proxy, and not when the headers are untrusted', async () => {
    const cookiesOf = async (trustProxy: TrustProxy) => {
      const app = await start(trustProxy);
      const auth = await authorizationRequest(idp);
      const res = await request(app).get(auth.url.pathname + auth.url.search).set(FORWARDED);
      await idp.close();
      return res.headers['set-cookie'] as unknown as string[];
    };
    const behind = await cookiesOf(['loopback']);
    expect(behind.filter((line) => line.startsWith('_interaction'))).toHaveLength(4);
    for (const line of behind) expect(line).toMatch(/; secure/i);
    const spoofed = await cookiesOf(false);
    for (const line of spoofed) expect(line).not.toMatch(/; secure/i);
    idp = await startTestIdp();
  });
});
