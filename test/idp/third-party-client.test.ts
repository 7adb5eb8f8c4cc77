/**
 * The proof that a relying party nobody here wrote works against our IdP after one entry in a clients file: a stock
 * express-openid-connect app (its defaults: RS256 id tokens, client_secret_basic, offline_access asked for) signs in
 * as bob, refreshes after each access token has expired (its documented pattern), reads UserInfo and signs out.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';

// express-openid-connect require()s openid-client: it must load before anything imports openid-client as ESM.
const { auth } = await import('express-openid-connect');
const { readIdpConfig } = await import('../../idp/config.js');
const { startTestIdp } = await import('../helpers/idp.js');
const { BOB, confirmSignOut, createBrowser } = await import('../helpers/sign-in.js');

const EOC_SECRET = 'eoc-test-client-secret-0001';
/** Access tokens (and the IdP-wide refresh tokens) live one second here, so "after expiry" takes a real second. */
const TOKEN_TTL_S = 1;
/** Bound on the wait for one access token to expire. */
const EXPIRY_WAIT_MS = 4_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What GET /token answers: the current access token, refreshed first when it had expired (or why that failed). */
type TokenAnswer = { accessToken?: string; refreshed: boolean; error?: string };

/** The IdP with `eoc` added through IDP_CLIENTS_FILE, and the express-openid-connect app on its reserved port. */
async function setUp(refreshPolicy?: Record<string, unknown>) {
  const appServer: Server = createServer();
  await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
  const appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise<void>((resolve) => (appServer.closeAllConnections(), appServer.close(() => resolve()))));

  // The one entry: standard metadata; the id token algorithm express-openid-connect expects; a refresh token that outlives the access token.
  const entry = {
    client_id: 'eoc',
    client_secret: EOC_SECRET,
    redirect_uris: [`${appUrl}/callback`],
    // express-openid-connect sends its baseURL as it is, without a trailing slash.
    post_logout_redirect_uris: [appUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    id_token_signed_response_alg: 'RS256',
    ...(refreshPolicy ? { x_refresh: refreshPolicy } : {}),
  };
  const dir = await mkdtemp(path.join(tmpdir(), 'eoc-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const clientsFile = path.join(dir, 'clients.json');
  await writeFile(clientsFile, JSON.stringify([entry], null, 2));
  const { clients } = readIdpConfig({ IDP_CLIENTS_FILE: clientsFile });
  const idp = await startTestIdp({ clients, ttl: { accessToken: TOKEN_TTL_S, refreshToken: TOKEN_TTL_S } });
  cleanups.push(() => idp.close());

  const app = express();
  app.use(
    auth({
      issuerBaseURL: idp.url,
      baseURL: appUrl,
      clientID: 'eoc',
      clientSecret: EOC_SECRET,
      secret: 'eoc-session-secret-0000000000000001',
      // What its README says to set for refresh tokens; with idpLogout, /logout ends the IdP session too.
      authorizationParams: { response_type: 'code', scope: 'openid profile email offline_access' },
      idpLogout: true,
    }),
  );
  app.get('/token', async (req, res) => {
    const token = req.oidc.accessToken!;
    if (!token.isExpired()) return res.json({ accessToken: token.access_token, refreshed: false } satisfies TokenAnswer);
    try {
      res.json({ accessToken: (await token.refresh()).access_token, refreshed: true } satisfies TokenAnswer);
    } catch (error) {
      const { error: code, error_description: description } = error as { error?: string; error_description?: string };
      res.json({ refreshed: false, error: code ? `${code}: ${description}` : String(error) } satisfies TokenAnswer);
    }
  });
  app.get('/userinfo', async (req, res) => {
    res.json(await req.oidc.fetchUserInfo());
  });
  app.get('/', (req, res) => {
    res.json({ user: req.oidc.user?.sub, hasAccessToken: Boolean(req.oidc.accessToken?.access_token) });
  });
  appServer.on('request', app);

  const browser = createBrowser();
  const getJson = async <T>(route: string) => {
    const res = await browser.fetch(new URL(route, appUrl));
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  /** Asks until the access token has expired and the app refreshed it (or failed to), within EXPIRY_WAIT_MS. */
  const refreshAfterExpiry = async (): Promise<TokenAnswer> => {
    const deadline = Date.now() + EXPIRY_WAIT_MS;
    for (;;) {
      const answer = await getJson<TokenAnswer>('/token');
      if (answer.refreshed || answer.error || Date.now() > deadline) return answer;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  return { appUrl, idp, browser, getJson, refreshAfterExpiry };
}

describe('a stock express-openid-connect app, registered by one entry in IDP_CLIENTS_FILE', () => {
  test('signs in as bob, refreshes three times after expiry, reads UserInfo, signs out', async () => {
    const { appUrl, browser, getJson, refreshAfterExpiry } = await setUp({ ttl_s: 3600 });
    await browser.signIn(appUrl, BOB, '/');
    expect(await getJson('/')).toEqual({ user: 'bob', hasAccessToken: true });

    const seen = new Set([(await getJson<TokenAnswer>('/token')).accessToken]);
    for (let round = 1; round <= 3; round += 1) {
      const answer = await refreshAfterExpiry();
      expect(answer).toMatchObject({ refreshed: true });
      seen.add(answer.accessToken);
    }
    expect(seen.size).toBe(4);
    expect(await getJson('/userinfo')).toMatchObject({ sub: 'bob', name: 'Bob Smith', email: 'bob@example.com' });

    // /logout → our end-session confirmation → back to the app, signed out here and at the IdP.
    const logout = await browser.fetch(new URL('/logout', appUrl));
    const endSession = new URL(logout.headers.get('location')!);
    expect(endSession.pathname).toBe('/session/end');
    const confirmed = await confirmSignOut(browser, endSession);
    expect(confirmed.headers.get('location')).toBe(`${appUrl}/`);
    // Signed out of the app, and of the IdP: going back ends at its login form, not back at the app.
    let url = new URL('/', appUrl);
    let res = await browser.fetch(url);
    for (let hop = 0; hop < 5 && res.headers.has('location'); hop += 1) res = await browser.fetch((url = new URL(res.headers.get('location')!, url)));
    expect(url.origin).not.toBe(appUrl);
    expect(await res.text()).toContain('name="password"');
  }, 30_000);

  test('failure mode, no refresh policy in the entry: its refresh token dies with the access token, so a refresh after expiry fails', async () => {
    const { appUrl, browser, refreshAfterExpiry } = await setUp();
    await browser.signIn(appUrl, BOB, '/');
    const answer = await refreshAfterExpiry();
    console.log(`express-openid-connect refresh after expiry without x_refresh: ${JSON.stringify(answer)}`);
    expect(answer.refreshed).toBe(false);
    expect(answer.error).toBe('invalid_grant: grant request is invalid');
  }, 30_000);
});
