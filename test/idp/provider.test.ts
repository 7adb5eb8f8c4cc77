import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { type TestIdp, authorizationRequest, browserCodeFlow, codeFlowTokens, discover, introspect, postForm, refreshTokens, startTestIdp } from '../helpers/idp.js';
import { SignInError, signInAtIdp } from '../helpers/sign-in.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.close();
});

/** The login page of a fresh authorization request, as a browser first sees it. */
async function openLoginPage() {
  const start = await fetch((await authorizationRequest(idp)).url, { redirect: 'manual' });
  const cookies = start.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  const loginUrl = new URL(start.headers.get('location')!, idp.url);
  const page = await fetch(loginUrl, { headers: { cookie: cookies } });
  return { loginUrl, cookies, page, html: await page.text() };
}

async function postLogin(username: string, password: string) {
  const { loginUrl, cookies } = await openLoginPage();
  return fetch(`${loginUrl.href}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookies },
    body: new URLSearchParams({ username, password }),
  });
}

describe('discovery and health', () => {
  test('metadata: issuer, endpoints, S256 only, code flow only', async () => {
    const metadata = await discover(idp);
    expect(metadata.issuer).toBe(idp.url);
    for (const name of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint', 'introspection_endpoint']) {
      expect(metadata[name]).toMatch(new RegExp(`^${idp.url}/`));
    }
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.id_token_signing_alg_values_supported).toContain('ES256');
  });

  test('/healthz', async () => {
    const res = await fetch(`${idp.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('login page', () => {
  test('renders a form, with a CSP that allows no script and lets the form end on the app', async () => {
    const { page, html } = await openLoginPage();
    expect(page.status).toBe(200);
    expect(html).toContain('name="username"');
    expect(html).toContain('name="password"');
    expect(html).not.toMatch(/<script|<style|style=/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self' http://localhost:3000");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${idp.url}/static/idp.css`)).status).toBe(200);
  });

  test.each([
    ['a wrong password', 'bob', 'wrong'],
    ['an unknown user', 'mallory', 'secret'],
  ])('%s: 401 and the same generic message', async (_case, username, password) => {
    const res = await postLogin(username, password);
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('Invalid username or password');
    expect(html).toContain('name="password"');
  });

  test('a failed sign-in is a clear error for the scripted browser', async () => {
    await expect(signInAtIdp((await authorizationRequest(idp)).url, { username: 'bob', password: 'nope' })).rejects.toThrow(SignInError);
  });

  test('an unknown or expired interaction: a friendly 400 page', async () => {
    const res = await fetch(`${idp.url}/interaction/does-not-exist`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Sign-in expired');
    const post = await fetch(`${idp.url}/interaction/does-not-exist/login`, { method: 'POST', body: new URLSearchParams({ username: 'bob', password: 'secret' }) });
    expect(post.status).toBe(400);
  });
});

describe('authorization requests', () => {
  test('without PKCE, or with the plain method: refused', async () => {
    for (const drop of [['code_challenge', 'code_challenge_method'], []]) {
      const { url } = await authorizationRequest(idp);
      for (const name of drop) url.searchParams.delete(name);
      if (drop.length === 0) url.searchParams.set('code_challenge_method', 'plain');
      const res = await fetch(url, { redirect: 'manual' });
      const location = new URL(res.headers.get('location')!);
      expect(location.origin + location.pathname).toBe('http://localhost:3000/signin-oidc');
      expect(location.searchParams.get('error')).toBe('invalid_request');
    }
  });

  test('prompt=consent is granted without a screen', async () => {
    const request = await authorizationRequest(idp);
    request.url.searchParams.set('prompt', 'consent');
    const { redirect } = await signInAtIdp(request.url);
    expect(redirect.searchParams.get('code')).toBeTruthy();
  });
});

describe('tokens', () => {
  test('the id token is ES256 and verifies against the JWKS', async () => {
    const tokens = await codeFlowTokens(idp);
    expect(decodeProtectedHeader(tokens.id_token).alg).toBe('ES256');
    const jwks = createRemoteJWKSet(new URL(String((await discover(idp)).jwks_uri)));
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: idp.url, audience: 'mvc', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ sub: 'bob', name: 'Bob Smith', email: 'bob@example.com', role: 'user' });
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  test('malformed token requests: 400 with a JSON error', async () => {
    const token = String((await discover(idp)).token_endpoint);
    const mvc = { id: 'mvc', secret: 'mvc-test-secret' };
    const missingGrantType = await postForm(token, {}, mvc);
    expect(missingGrantType).toEqual({ status: 400, body: expect.objectContaining({ error: 'invalid_request' }) });
    const unknownGrant = await postForm(token, { grant_type: 'password', username: 'bob' }, mvc);
    expect(unknownGrant).toEqual({ status: 400, body: expect.objectContaining({ error: 'unsupported_grant_type' }) });
    const garbage = await fetch(token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ error: 'invalid_request' });
    expect((await refreshTokens(idp, 'not-a-token')).body).toMatchObject({ error: 'invalid_grant' });
  });

  test('introspection needs client authentication', async () => {
    const tokens = await codeFlowTokens(idp);
    const endpoint = String((await discover(idp)).introspection_endpoint);
    const anonymous = await postForm(endpoint, { token: tokens.access_token });
    expect(anonymous.status).toBe(400);
    expect(anonymous.body).toMatchObject({ error: 'invalid_request', error_description: 'no client authentication mechanism provided' });
    const wrongSecret = await postForm(endpoint, { token: tokens.access_token }, { id: 'api', secret: 'guess' });
    expect(wrongSecret).toEqual({ status: 401, body: expect.objectContaining({ error: 'invalid_client' }) });
    expect((await introspect(idp, tokens.access_token)).body).toMatchObject({ active: true, sub: 'bob', client_id: 'mvc' });
  });
});

describe('the absolute cap (IDP_SESSION_TTL)', () => {
  test('a refresh token never outlives it, even when the sliding TTL is longer', async () => {
    const capped = await startTestIdp({ ttl: { session: 30, refreshToken: 60 } });
    try {
      const tokens = await codeFlowTokens(capped);
      const lifetime = async (token: string) => {
        const { exp, iat } = (await introspect(capped, token, 'mvc')).body as { exp: number; iat: number };
        return exp - iat;
      };
      expect(await lifetime(tokens.refresh_token!)).toBeLessThanOrEqual(30);
      const rotated = (await refreshTokens(capped, tokens.refresh_token!)).body;
      expect(await lifetime(String(rotated.refresh_token))).toBeLessThanOrEqual(30);
      expect(await lifetime(tokens.access_token)).toBe(60);
    } finally {
      await capped.close();
    }
  });
});

describe('logout', () => {
  /** Signs bob in, opens our logout confirmation page with `params` and confirms it, as a browser would. */
  async function signInThenLogout(params: (idToken: string) => Record<string, string>) {
    const { tokens, cookies } = await browserCodeFlow(idp);
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const endSession = new URL(String((await discover(idp)).end_session_endpoint));
    endSession.search = new URLSearchParams(params(tokens.id_token)).toString();
    const page = await fetch(endSession, { headers: { cookie } });
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).not.toMatch(/<script|<style|style=/);
    const form = /<form id="op.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"/.exec(html)!;
    const done = await fetch(new URL(form[1]!, idp.url), { method: 'POST', redirect: 'manual', headers: { cookie }, body: new URLSearchParams({ xsrf: form[2]!, logout: 'yes' }) });
    return { tokens, done };
  }

  test('our confirmation page posts the xsrf value back; signing out ends the session-bound refresh token', async () => {
    const { tokens, done } = await signInThenLogout((idToken) => ({ id_token_hint: idToken, post_logout_redirect_uri: 'http://localhost:3000/' }));
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('http://localhost:3000/');
    expect((await refreshTokens(idp, tokens.refresh_token!)).body).toMatchObject({ error: 'invalid_grant' });
  });

  test('without a post-logout redirect: our "signed out" page', async () => {
    const { done } = await signInThenLogout(() => ({ client_id: 'mvc' }));
    const success = await fetch(new URL(done.headers.get('location')!, idp.url));
    const html = await success.text();
    expect(html).toContain('You are signed out.');
    expect(html).not.toMatch(/<script|<style|style=/);
  });
});

describe('errors shown to a browser', () => {
  test('use our page, with no inline script or style', async () => {
    const res = await fetch(`${idp.url}/auth?client_id=unknown&response_type=code&scope=openid`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('Sign-in problem');
    expect(html).not.toMatch(/<script|<style|style=/);
  });
});
