import { afterEach, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import type { CustomFetch } from 'openid-client';
import { storeSuites, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { authCookieOf, openAuthCookie, signIn, startTestApp, switchableFetch, testClock } from '../helpers/app.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function idpFor(overrides: Parameters<typeof startTestIdp>[0] = {}) {
  const idp = await startTestIdp(overrides);
  cleanups.push(() => idp.close());
  return idp;
}

async function appFor(idp: TestIdp, options: Parameters<typeof startTestApp>[1] = {}) {
  const app = await startTestApp(idp, options);
  cleanups.push(() => app.close());
  return app;
}

/** bob signed in, then the network to the IdP cut. */
async function signedInThenIdpDown() {
  const clock = testClock();
  const network = switchableFetch();
  const { app } = await appFor(await idpFor(), { clock, deps: { fetch: network.fetch } });
  const { cookie } = await signIn(app);
  network.setDown(true);
  return { app, clock, network, cookie };
}

describe('IdP outages', () => {
  test('down from half-life until shortly before expiry: 200s throughout, renewal resumes when it is back', async () => {
    const { app, clock, network, cookie } = await signedInThenIdpDown();
    for (let at = 30_000; at < 58_000; at += 4_000) {
      clock.advance(at === 30_000 ? 30_000 : 4_000);
      const res = await request(app).get('/about').set('Cookie', cookie.pair);
      expect(res.status).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    network.setDown(false);
    const back = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(back.status).toBe(200);
    expect(openAuthCookie(authCookieOf(back)!.value)!.renewals).toBe(1);
  });

  test('down until the cookie expires: only then the login page', async () => {
    const { app, clock, cookie } = await signedInThenIdpDown();
    // 58 s, not 59: the IdP may answer expires_in 59 for a 60-s token (its whole-second clock ticked in between).
    clock.advance(58_000);
    expect((await request(app).get('/about').set('Cookie', cookie.pair)).status).toBe(200);
    clock.advance(2_000);
    const expired = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(expired.status).toBe(302);
    expect(expired.headers.location).toMatch(/^\/login/);
  });

  test('IdP slow: the refresh times out and the request is served with the current tokens', async () => {
    const idp = await idpFor();
    const clock = testClock();
    let slow = false;
    // Hangs like an overloaded IdP, until the caller's own timeout aborts it.
    const slowFetch: CustomFetch = (url, options) =>
      slow
        ? new Promise((_resolve, reject) => options.signal?.addEventListener('abort', () => reject(options.signal?.reason)))
        : fetch(url, options as RequestInit);
    const { app } = await appFor(idp, { clock, deps: { fetch: slowFetch }, config: { idpTimeoutMs: 300 } });
    const { cookie } = await signIn(app);
    slow = true;
    clock.advance(31_000);
    const started = Date.now();
    const res = await request(app).get('/').set('Cookie', cookie.pair);
    expect(res.status).toBe(200);
    expect(res.text).toContain('You are signed in');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

for (const [store, suite] of await storeSuites(['sqlite', 'redis'])) {
  suite(`IdP restart on its ${store} store`, () => {
    test('every signed-in user renews after the restart', async () => {
      const idp = await idpFor({ store });
      const clock = testClock();
      const { app } = await appFor(idp, { clock });
      const users = await Promise.all([1, 2, 3].map(() => signIn(app)));
      await idp.restart();
      clock.advance(31_000);
      for (const { cookie } of users) {
        const res = await request(app).get('/about').set('Cookie', cookie.pair);
        expect(res.status).toBe(200);
        expect(openAuthCookie(authCookieOf(res)!.value)!.renewals).toBe(1);
      }
    });
  });
}

describe('cookie attributes', () => {
  test('http base URL: auth, HttpOnly, SameSite=Lax, Path=/, no Secure', async () => {
    const { app } = await appFor(await idpFor());
    const { cookie, transaction } = await signIn(app);
    for (const set of [cookie, transaction]) {
      expect(set.attributes).toMatchObject({ httponly: true, samesite: 'lax', path: '/' });
      expect(set.attributes.secure).toBeUndefined();
    }
    expect(cookie.name).toBe('auth');
  });

  test('https base URL: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
    const idp = await idpFor({ appBaseUrl: 'https://app.example' });
    const { app } = await appFor(idp, { config: { baseUrl: new URL('https://app.example') } });
    const { cookie, transaction } = await signIn(app, '/about', { secure: true });
    expect(cookie.name).toBe('__Host-auth');
    expect(transaction.name).toBe('__Host-auth.tx');
    for (const set of [cookie, transaction]) {
      expect(set.attributes).toMatchObject({ secure: true, httponly: true, samesite: 'lax', path: '/' });
      expect(set.attributes.domain).toBeUndefined();
    }
    const about = await request(app).get('/about').set('X-Forwarded-Proto', 'https').set('Cookie', cookie.pair);
    expect(about.status).toBe(200);
  });
});

describe('cookie key rotation', () => {
  test('new key first: old cookies still read, new ones use the new key; old key dropped: old cookies anonymous', async () => {
    const idp = await idpFor();
    const clock = testClock();
    const OLD = 'old-cookie-key-000000000001';
    const NEW = 'new-cookie-key-000000000001';
    const before = await appFor(idp, { clock, config: { cookieKeys: [OLD] } });
    const { cookie: oldCookie } = await signIn(before.app);

    const rotated = await appFor(idp, { clock, config: { cookieKeys: [NEW, OLD] } });
    expect((await request(rotated.app).get('/about').set('Cookie', oldCookie.pair)).status).toBe(200);
    const { cookie: newCookie } = await signIn(rotated.app);
    expect(openAuthCookie(newCookie.value, [NEW])).toBeDefined();
    expect(openAuthCookie(newCookie.value, [OLD])).toBeUndefined();

    const retired = await appFor(idp, { clock, config: { cookieKeys: [NEW] } });
    expect((await request(retired.app).get('/about').set('Cookie', oldCookie.pair)).status).toBe(302);
    expect((await request(retired.app).get('/about').set('Cookie', newCookie.pair)).status).toBe(200);
  });
});
