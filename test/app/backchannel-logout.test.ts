import { beforeAll, describe, expect, test } from '@jest/globals';
import { type CryptoKey, type JWTPayload, SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { LogoutTokenError, verifyLogoutToken } from '../../app/backchannel-logout.js';
import { createMemoryLogoutStore } from '../../app/store/logout-memory.js';
import { isLoggedOut } from '../../app/store/logout-store.js';
import type { AuthSession } from '../../app/session.js';

const ISSUER = 'http://127.0.0.1:4000';
const EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const now = Date.now();
let key: CryptoKey;
let otherKey: CryptoKey;
let keys: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(pair.publicKey)), alg: 'ES256' }] });
});

const sign = (payload: JWTPayload, { signer = key, iat = Math.floor(now / 1000) } = {}) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'logout+jwt' }).setIssuedAt(iat).sign(signer);

const valid = { iss: ISSUER, aud: 'mvc', sid: 'sid-1', sub: 'bob', jti: 'j1', events: EVENT };
const verify = (token: string) => verifyLogoutToken(token, keys, ISSUER, 'mvc', now);

describe('logout token validation (Back-Channel Logout 1.0 §2.6)', () => {
  test('a valid token yields its sid and sub', async () => {
    await expect(verify(await sign(valid))).resolves.toEqual({ sid: 'sid-1', sub: 'bob' });
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
  ])('rejected: %s', async (_name, make) => {
    await expect(verify(await make())).rejects.toBeInstanceOf(LogoutTokenError);
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
