import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, type JWTPayload, SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import * as client from 'openid-client';
import request from 'supertest';
import { silentLogger } from '../../common/log.js';
import { LogoutTokenError, backchannelLogout, verifyLogoutToken } from '../../app/logout/backchannel-logout.js';
import { readAppConfig } from '../../app/config.js';
import { createCookieLifetimes } from '../../app/cookie/lifetime.js';
import { createMemoryLogoutStore } from '../../app/logout/store-memory.js';
import { isLoggedOut } from '../../app/logout/store.js';
import type { AuthSession } from '../../app/session.js';

const ISSUER = 'http://127.0.0.1:4000';
const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const now = Date.now();
const nowS = Math.floor(now / 1000);
let key: CryptoKey;
let otherKey: CryptoKey;
let rsaKey: CryptoKey;
let publicJwks: { keys: JWK[] };
let keys: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const rsa = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  rsaKey = rsa.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  publicJwks = { keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'es' }, { ...(await exportJWK(rsa.publicKey)), alg: 'RS256', kid: 'rs' }] };
  keys = createLocalJWKSet(publicJwks);
});

interface SignOptions {
  signer?: CryptoKey;
  alg?: string;
  /** null: no typ header. */
  typ?: string | null;
  iat?: number;
  /** null: no exp claim. */
  exp?: number | null;
}

/** A logout token as oidc-provider 9 makes one: `typ: logout+jwt`, iat, exp two minutes on, a jti. */
const sign = (payload: JWTPayload, { signer = key, alg = 'ES256', typ = 'logout+jwt', iat = nowS, exp = iat + 120 }: SignOptions = {}) => {
  const jwt = new SignJWT(payload).setProtectedHeader({ alg, kid: alg === 'RS256' ? 'rs' : 'es', ...(typ === null ? {} : { typ }) }).setIssuedAt(iat);
  if (exp !== null) jwt.setExpirationTime(exp);
  return jwt.sign(alg === 'RS256' && signer === key ? rsaKey : signer);
};

const valid = { iss: ISSUER, aud: 'mvc', sid: 'sid-1', sub: 'bob', jti: 'j1', events: EVENT };
const verify = (token: string, clockToleranceS = 60, algorithms = ['ES256', 'RS256']) =>
  verifyLogoutToken(token, keys, { issuer: ISSUER, clientId: 'mvc', clockToleranceS, algorithms }, now);
const issuedIn = (seconds: number) => nowS + seconds;
const { jti: _jti, ...withoutJti } = valid;

describe('logout token validation (Back-Channel Logout 1.0 §2.6)', () => {
  test('a valid token yields its sid and sub', async () => {
    await expect(verify(await sign(valid))).resolves.toEqual({ sid: 'sid-1', sub: 'bob', jti: 'j1', exp: nowS + 120 });
  });

  test.each([
    ['signed by another key', async () => sign(valid, { signer: otherKey })],
    ['another issuer', async () => sign({ ...valid, iss: 'https://evil.example' })],
    ['another audience', async () => sign({ ...valid, aud: 'other-client' })],
    ['issued long ago', async () => sign(valid, { iat: Math.floor(now / 1000) - 3600 })],
    ['without the logout event', async () => sign({ ...valid, events: { other: {} } })],
    ['with a non-object event', async () => sign({ ...valid, events: { 'http://schemas.openid.net/event/backchannel-logout': 'yes' } })],
    ['with a nonce', async () => sign({ ...valid, nonce: 'n' })],
    ['with neither sid nor sub', async () => sign({ iss: ISSUER, aud: 'mvc', events: EVENT })],
    ['unsigned', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(valid)).toString('base64url')}.`],
    ['garbage', async () => 'not-a-jwt'],
    ['without jti (§2.4: REQUIRED)', async () => sign(withoutJti)],
    ['without exp (§2.4: REQUIRED)', async () => sign(valid, { exp: null })],
    ['typed JWT, as an id token is', async () => sign(valid, { typ: 'JWT' })],
    ['untyped', async () => sign(valid, { typ: null })],
    ['expired', async () => sign(valid, { iat: issuedIn(-100), exp: issuedIn(-61) })],
    ['signed with an algorithm the IdP does not announce', async () => sign(valid, { alg: 'RS256' })],
  ])('rejected: %s', async (_name, make) => {
    await expect(verify(await make(), 60, ['ES256'])).rejects.toBeInstanceOf(LogoutTokenError);
  });
});

describe('clock skew (iat as the IdP saw it, now by the app\'s clock)', () => {
  test.each([2, 30, 60])('an app clock %i s behind the IdP still accepts the logout', async (behind) => {
    await expect(verify(await sign(valid, { iat: issuedIn(behind) }))).resolves.toMatchObject({ sid: 'sid-1', sub: 'bob' });
  });

  test.each([61, 300])('a logout token issued %i s in the future is refused', async (ahead) => {
    await expect(verify(await sign(valid, { iat: issuedIn(ahead) }))).rejects.toBeInstanceOf(LogoutTokenError);
  });

  test('the tolerance also stretches the two-minute age limit, and no further', async () => {
    await expect(verify(await sign(valid, { iat: issuedIn(-180), exp: issuedIn(60) }))).resolves.toMatchObject({ sid: 'sid-1' });
    await expect(verify(await sign(valid, { iat: issuedIn(-181), exp: issuedIn(60) }))).rejects.toBeInstanceOf(LogoutTokenError);
  });

  test('failure mode, tolerance 0: an app clock 2 s behind rejects every logout token', async () => {
    const error = await verify(await sign(valid, { iat: issuedIn(2) }), 0).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LogoutTokenError);
    expect(String((error as Error).cause)).toContain('"iat" claim timestamp check failed (it should be in the past)');
    await expect(verify(await sign(valid, { iat: issuedIn(0) }), 0)).resolves.toMatchObject({ sid: 'sid-1' });
  });
});

describe('logout memory', () => {
  const session = (issuedAt: number): AuthSession => ({
    idToken: 'i', accessToken: 'a', claims: { sub: 'bob' }, sid: 'sid-1', issuedAt, expiresAt: issuedAt + 60_000, renewals: 0,
  });

  test('cookies issued before the logout of their sid are dead; a later sign-in is not', async () => {
    let clock = 1_000_000;
    const store = createMemoryLogoutStore(() => clock);
    await store.remember(['sid:sid-1'], clock, 60_000);
    expect(await isLoggedOut(store, session(clock - 10_000))).toBe(true);
    expect(await isLoggedOut(store, { ...session(clock - 10_000), sid: 'sid-2' })).toBe(false);
    expect(await isLoggedOut(store, { ...session(clock + 1), sid: 'sid-1' })).toBe(false);
    clock += 60_000;
    expect(await isLoggedOut(store, session(clock - 70_000))).toBe(false);
  });

  test('a sub-only logout ends every earlier session of that user', async () => {
    const store = createMemoryLogoutStore(() => 0);
    await store.remember(['sub:bob'], 0, 60_000);
    expect(await isLoggedOut(store, { ...session(-1), sid: 'any' })).toBe(true);
  });
});

describe('POST /backchannel-logout', () => {
  let jwksServer: Server;
  let jwksUri: string;
  beforeAll(async () => {
    jwksServer = createServer((_req, res) => void res.setHeader('content-type', 'application/json').end(JSON.stringify(publicJwks)));
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`;
  });
  afterAll(async () => {
    jwksServer.closeAllConnections();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  /** The endpoint against an IdP whose metadata announces `algorithms`, on a clock the test moves; cookies of 60 s seen so far. */
  function endpoint(algorithms: string[] = ['ES256']) {
    let clock = now;
    const config = readAppConfig({ IDP_ISSUER: ISSUER, LOG_LEVEL: 'error' });
    const metadata = { issuer: ISSUER, jwks_uri: jwksUri, id_token_signing_alg_values_supported: algorithms };
    const idp = { configuration: async () => new client.Configuration(metadata, 'mvc') };
    const logouts = createMemoryLogoutStore(() => clock);
    const lifetimes = createCookieLifetimes();
    lifetimes.observe({ issuedAt: 0, expiresAt: 60_000 });
    const app = express().use('/backchannel-logout', backchannelLogout(config, idp, logouts, lifetimes, () => clock, silentLogger));
    const post = async (token: string) => {
      const res = await request(app).post('/backchannel-logout').type('form').send({ logout_token: token });
      return res.status;
    };
    return { app, post, logouts, advance: (ms: number) => void (clock += ms) };
  }

  test('a valid logout token: 200, and the session is logged out', async () => {
    const { post, logouts } = endpoint();
    expect(await post(await sign(valid))).toBe(200);
    expect(await logouts.loggedOutAt(['sid:sid-1'])).toBe(now);
  });

  test.each([
    ['without jti', () => sign(withoutJti)],
    ['without exp', () => sign(valid, { exp: null })],
    ['typed JWT', () => sign(valid, { typ: 'JWT' })],
    ['signed RS256 while the IdP announces only ES256', () => sign(valid, { alg: 'RS256' })],
  ])('%s: 400, nobody logged out', async (_name, make) => {
    const { post, logouts } = endpoint();
    expect(await post(await make())).toBe(400);
    expect(await logouts.loggedOutAt(['sid:sid-1', 'sub:bob'])).toBeUndefined();
  });

  test('no logout_token, or two of them: 400 invalid_request saying so', async () => {
    const { app } = endpoint();
    for (const body of ['', 'logout_token=a&logout_token=b']) {
      const res = await request(app).post('/backchannel-logout').type('form').send(body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'logout_token is required' });
    }
  });

  test('the algorithms come from the IdP\'s metadata: RS256 announced, RS256 accepted', async () => {
    const { post } = endpoint(['RS256']);
    expect(await post(await sign(valid, { alg: 'RS256' }))).toBe(200);
    expect(await post(await sign({ ...valid, jti: 'j2' }))).toBe(400);
  });

  test('`none` is never accepted, whatever the metadata says', async () => {
    const { post } = endpoint(['none', 'ES256']);
    const unsigned = `${Buffer.from('{"alg":"none","typ":"logout+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...valid, iat: nowS, exp: nowS + 120 })).toString('base64url')}.`;
    expect(await post(unsigned)).toBe(400);
  });

  test('a replayed jti is refused while the token could still verify, even past the longest cookie and the token\'s exp within the clock tolerance', async () => {
    const { post, advance } = endpoint();
    const token = await sign(valid);
    expect(await post(token)).toBe(200);
    expect(await post(token)).toBe(400);
    // Past exp (120 s) and past every cookie seen (60 s), but within exp + the 60-s tolerance: the token alone would still verify.
    advance(150_000);
    expect(await post(token)).toBe(400);
    expect(await post(await sign({ ...valid, jti: 'j-other' }, { iat: issuedIn(150) }))).toBe(200);
  });
});

describe('cookie lifetimes (how long logout records live)', () => {
  test('the longest seen, never shrinking; a day before any cookie was seen', () => {
    const lifetimes = createCookieLifetimes();
    expect(lifetimes.longestMs()).toBe(24 * 3600 * 1000);
    lifetimes.observe({ issuedAt: 0, expiresAt: 60_000 });
    expect(lifetimes.longestMs()).toBe(60_000);
    lifetimes.observe({ issuedAt: 1_000, expiresAt: 701_000 });
    lifetimes.observe({ issuedAt: 2_000, expiresAt: 62_000 });
    expect(lifetimes.longestMs()).toBe(700_000);
  });
});
