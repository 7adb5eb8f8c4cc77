import { describe, expect, test } from '@jest/globals';
import type { CustomFetch } from 'openid-client';
import request from 'supertest';
import { callEndpoint, introspect } from '../helpers/idp.js';
import { idpWithApps } from '../helpers/suite.js';
import { authCookieOf, openAuthCookie, signIn, switchableFetch, testClock } from '../helpers/app.js';

const suite = idpWithApps();
const { bff } = suite;

const expiresOf = (header: string | true | undefined) => new Date(String(header)).getTime();

describe('login and pages', () => {
  test('login as bob/secret, then About shows his claims', async () => {
    const { app } = await bff();
    const { cookie, response } = await signIn(app);
    expect(response.headers.location).toBe('/about');
    const about = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(about.status).toBe(200);
    expect(about.text).toContain('Bob');
    expect(about.text).toContain('bob@example.com');
  });

  test('the auth cookie is encrypted, HttpOnly, SameSite=Lax, Path=/, and expires with the access token', async () => {
    const clock = testClock();
    const { app } = await bff({ clock });
    const { cookie } = await signIn(app);
    expect(cookie.attributes).toMatchObject({ httponly: true, samesite: 'lax', path: '/' });
    expect(cookie.attributes.secure).toBeUndefined();
    expect(cookie.attributes['max-age']).toBe('60');
    // Expires is in whole seconds.
    expect(clock.now() + 60_000 - expiresOf(cookie.attributes.expires)).toBeLessThan(1000);
    const session = openAuthCookie(cookie.value)!;
    expect(session.expiresAt - clock.now()).toBe(60_000);
    const raw = Buffer.from(cookie.value, 'base64').toString('utf8');
    expect(raw).not.toContain(session.accessToken);
    expect(raw).not.toContain(session.refreshToken!);
    expect(raw).not.toContain('bob@example.com');
  });

  test('anonymous About redirects to login and back', async () => {
    const { app } = await bff();
    const res = await request(app).get('/about');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/login?returnTo=%2Fabout');
  });

  test('home is public and tells whether you are signed in', async () => {
    const { app } = await bff();
    expect((await request(app).get('/')).text).toContain('You are not signed in');
    const { cookie } = await signIn(app);
    expect((await request(app).get('/').set('Cookie', cookie.pair)).text).toContain('You are signed in as');
  });

  test('an absolute returnTo falls back to / (no open redirect)', async () => {
    const { app } = await bff();
    for (const target of ['https://evil.example/', '//evil.example/x']) {
      const { response } = await signIn(app, target);
      expect(response.headers.location).toBe('/');
    }
  });

  test('helmet headers and a CSP without inline script', async () => {
    const { app } = await bff();
    const res = await request(app).get('/');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline\';script');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});

describe('renewal', () => {
  test('before half-life: no refresh and no Set-Cookie', async () => {
    const clock = testClock();
    const { app } = await bff({ clock });
    const { cookie } = await signIn(app);
    const before = suite.idp().refreshCalls();
    clock.advance(29_000);
    const res = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(suite.idp().refreshCalls()).toBe(before);
  });

  test('past half-life: exactly one refresh and a cookie expiring with the new access token', async () => {
    const clock = testClock();
    const { app } = await bff({ clock });
    const { cookie } = await signIn(app);
    const before = suite.idp().refreshCalls();
    clock.advance(31_000);
    const res = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(res.status).toBe(200);
    expect(suite.idp().refreshCalls()).toBe(before + 1);
    const renewed = authCookieOf(res)!;
    expect(renewed.attributes['max-age']).toBe('60');
    expect(clock.now() + 60_000 - expiresOf(renewed.attributes.expires)).toBeLessThan(1000);
    const session = openAuthCookie(renewed.value)!;
    expect(session).toMatchObject({ issuedAt: clock.now(), expiresAt: clock.now() + 60_000, renewals: 1 });
    expect(session.refreshToken).not.toBe(openAuthCookie(cookie.value)!.refreshToken);
    expect(res.text).toContain('<dd id="renewals">1</dd>');
  });

  test('IdP unreachable past half-life: 200 with the old cookie kept; the next request renews once it is back', async () => {
    const clock = testClock();
    const network = switchableFetch();
    const { app } = await bff({ clock, deps: { fetch: network.fetch } });
    const { cookie } = await signIn(app);
    clock.advance(40_000);
    network.setDown(true);
    const during = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(during.status).toBe(200);
    expect(during.headers['set-cookie']).toBeUndefined();
    network.setDown(false);
    clock.advance(5_000);
    const after = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(after.status).toBe(200);
    expect(openAuthCookie(authCookieOf(after)!.value)!.renewals).toBe(1);
  });

  test('a revoked grant ends the session at the next renewal', async () => {
    const clock = testClock();
    const { app } = await bff({ clock });
    const { cookie } = await signIn(app);
    const { refreshToken } = openAuthCookie(cookie.value)!;
    expect((await callEndpoint(suite.idp(), 'revocation_endpoint', { token: refreshToken!, token_type_hint: 'refresh_token' })).status).toBe(200);
    clock.advance(31_000);
    const res = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/login?returnTo=%2Fabout');
    expect(authCookieOf(res)!.value).toBe('');
  });

  test('a replayed cookie past its expiry is anonymous, even if the browser kept it', async () => {
    const clock = testClock();
    const { app } = await bff({ clock });
    const { cookie } = await signIn(app);
    clock.advance(60_000);
    const res = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(res.status).toBe(302);
    expect((await request(app).get('/').set('Cookie', cookie.pair)).text).toContain('You are not signed in');
  });

  test('the cookie lives expires_in counted from when the token request went out: a slow answer shortens it, never lengthens it', async () => {
    const clock = testClock();
    // The IdP answers the token endpoint 5 s (of the app's clock) after it was asked.
    const slowTokenEndpoint: CustomFetch = async (url, options) => {
      const res = await fetch(url, options as RequestInit);
      if (new URL(url).pathname.endsWith('/token')) clock.advance(5_000);
      return res;
    };
    const { app } = await bff({ clock, deps: { fetch: slowTokenEndpoint } });
    const sentAt = clock.now();
    const { cookie } = await signIn(app);
    expect(cookie.attributes['max-age']).toBe('55');
    expect(openAuthCookie(cookie.value)).toMatchObject({ issuedAt: sentAt, expiresAt: sentAt + 60_000 });
    clock.advance(30_000);
    const renewedAt = clock.now();
    const renewed = authCookieOf(await request(app).get('/about').set('Cookie', cookie.pair))!;
    expect(renewed.attributes['max-age']).toBe('55');
    expect(openAuthCookie(renewed.value)).toMatchObject({ issuedAt: renewedAt, expiresAt: renewedAt + 60_000, renewals: 1 });
  });

  test('session-cookie mode: no Expires, the same expiry enforced from inside the cookie', async () => {
    const clock = testClock();
    const { app } = await bff({ clock, config: { cookieMode: 'session' } });
    const { cookie } = await signIn(app);
    expect(cookie.attributes.expires).toBeUndefined();
    expect(cookie.attributes['max-age']).toBeUndefined();
    clock.advance(31_000);
    const renewed = authCookieOf(await request(app).get('/about').set('Cookie', cookie.pair))!;
    expect(renewed.attributes.expires).toBeUndefined();
    clock.advance(60_000);
    expect((await request(app).get('/about').set('Cookie', renewed.pair)).status).toBe(302);
  });
});

describe('bad input', () => {
  test.each([
    ['garbage', 'auth=not-base64-at-all!!'],
    ['base64 JSON without a sealed value', `auth=${Buffer.from('{"x":1}').toString('base64')}`],
    ['sealed value tampered', `auth=${Buffer.from('{"t":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}').toString('base64')}`],
    ['JSON null', `auth=${Buffer.from('null').toString('base64')}`],
  ])('%s cookie: anonymous, never a 500', async (_name, header) => {
    const { app } = await bff();
    expect((await request(app).get('/about').set('Cookie', header)).status).toBe(302);
    expect((await request(app).get('/').set('Cookie', header)).status).toBe(200);
  });

  test('a cookie sealed with another key is anonymous', async () => {
    const { app } = await bff();
    const { cookie } = await signIn(app);
    const { app: other } = await bff({ config: { cookieKeys: ['another-cookie-key-00000001'] } });
    expect((await request(other).get('/about').set('Cookie', cookie.pair)).status).toBe(302);
  });
});

describe('callback errors are friendly pages', () => {
  test('error=access_denied → 400', async () => {
    const { app } = await bff();
    const start = await request(app).get('/login');
    const tx = authCookieOf(start, 'auth.tx')!;
    const res = await request(app).get('/signin-oidc?error=access_denied&state=x').set('Cookie', tx.pair);
    expect(res.status).toBe(400);
    expect(res.text).toContain('access_denied');
  });

  test('bad state → 400; missing transaction cookie → 400; replayed code → 400', async () => {
    const { app } = await bff();
    const { callbackUrl, transaction } = await signIn(app);
    const replay = await request(app).get(callbackUrl.pathname + callbackUrl.search).set('Cookie', transaction.pair);
    expect(replay.status).toBe(400);
    const noTx = await request(app).get(callbackUrl.pathname + callbackUrl.search);
    expect(noTx.status).toBe(400);
    const start = await request(app).get('/login');
    const tx = authCookieOf(start, 'auth.tx')!;
    const badState = await request(app).get('/signin-oidc?code=abc&state=wrong').set('Cookie', tx.pair);
    expect(badState.status).toBe(400);
    expect(badState.text).not.toMatch(/at .*\.ts:\d+/);
  });

  test('a callback tampered past the state check is the visitor’s sign-in failing (400), not the IdP unavailable (502)', async () => {
    const { app } = await bff();
    const { callbackUrl, transaction } = await signIn(app);
    const tampered = (params: URLSearchParams) => request(app).get(`/signin-oidc?${params}`).set('Cookie', transaction.pair);
    // An implicit-flow token slipped in: openid-client refuses the response mode.
    const withIdToken = new URLSearchParams(callbackUrl.search);
    withIdToken.set('id_token', 'x');
    // An `error` Express never reads (past its 1,000 parameters) but openid-client does.
    const hiddenError = new URLSearchParams(Array.from({ length: 1001 }, (_, i): [string, string] => [`k${i}`, '1']));
    for (const [name, value] of new URLSearchParams(callbackUrl.search)) hiddenError.append(name, value);
    hiddenError.append('error', 'access_denied');
    for (const params of [withIdToken, hiddenError]) {
      const res = await tampered(params);
      expect(res.status).toBe(400);
      expect(res.text).not.toContain('cannot be reached');
    }
  });

  test('IdP down: the app still starts; login answers 502 and works once the IdP is back', async () => {
    const network = switchableFetch();
    network.setDown(true);
    const { app } = await bff({ deps: { fetch: network.fetch } });
    expect((await request(app).get('/')).status).toBe(200);
    expect((await request(app).get('/login')).status).toBe(502);
    network.setDown(false);
    expect((await request(app).get('/login')).status).toBe(302);
  });
});

describe('logout', () => {
  test('revokes the refresh token, clears the cookie and ends the IdP session', async () => {
    const { app, config } = await bff();
    const { cookie } = await signIn(app);
    const { refreshToken, idToken } = openAuthCookie(cookie.value)!;
    const res = await request(app).post('/logout').set('Cookie', cookie.pair).set('Origin', config.baseUrl.origin);
    expect(res.status).toBe(303);
    const endSession = new URL(res.headers.location!);
    expect(endSession.origin).toBe(new URL(suite.idp().url).origin);
    expect(endSession.searchParams.get('id_token_hint')).toBe(idToken);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe('http://localhost:3000/');
    expect(authCookieOf(res)!.value).toBe('');
    const introspection = await introspect(suite.idp(), refreshToken!);
    expect(introspection.body.active).toBe(false);
  });

  test('a cross-site POST is refused with 403', async () => {
    const { app } = await bff();
    const { cookie } = await signIn(app);
    expect((await request(app).post('/logout').set('Cookie', cookie.pair).set('Origin', 'https://evil.example')).status).toBe(403);
    expect((await request(app).post('/logout').set('Cookie', cookie.pair)).status).toBe(403);
    expect((await request(app).get('/about').set('Cookie', cookie.pair)).status).toBe(200);
  });
});
