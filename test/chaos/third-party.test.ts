import { afterEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import { startTestIdp } from '../helpers/idp.js';
import { reserveServer } from '../helpers/ports.js';
import { BOB, createBrowser } from '../helpers/sign-in.js';

// express-openid-connect require()s openid-client: it must load before anything imports openid-client as ESM (our app
// does, through the chaos helpers), or Jest refuses the require(esm) as a cycle.
const { auth } = await import('express-openid-connect');
const { recordingLogger } = await import('../helpers/chaos.js');

const EOC_SECRET = 'eoc-chaos-secret-0001';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What a refresh came to, for the test to read: the access token it returned, or the error. */
type Settled = { ok: true; accessToken: string } | { ok: false; error: string };

/**
 * A real express-openid-connect app (a third-party client of our IdP, not our BFF) as client `eoc`, bob signed in
 * through the IdP's login form, then two concurrent `refresh()` calls on one session and a third after them.
 */
async function parallelRefreshes(graceS: number) {
  const appServer = await reserveServer();
  cleanups.push(() => appServer.close());
  const log = recordingLogger();
  const idp = await startTestIdp({
    refreshReuseGraceS: graceS,
    clients: [
      {
        client_id: 'eoc',
        client_secret: EOC_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: [`${appServer.url}/callback`],
        post_logout_redirect_uris: [`${appServer.url}/`],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    deps: { logger: log.logger },
  });
  cleanups.push(() => idp.close());

  const app = express();
  app.use(
    auth({
      issuerBaseURL: idp.url,
      baseURL: appServer.url,
      clientID: 'eoc',
      clientSecret: EOC_SECRET,
      secret: 'eoc-session-secret-0000000000000001',
      // Our IdP signs with ES256 only.
      idTokenSigningAlg: 'ES256',
      authRequired: false,
      authorizationParams: { response_type: 'code', scope: 'openid profile email offline_access' },
    }),
  );
  app.get('/refresh', async (req, res) => {
    const settle = async (): Promise<Settled> => {
      try {
        return { ok: true, accessToken: (await req.oidc.accessToken!.refresh()).access_token };
      } catch (error) {
        return { ok: false, error: String(error) };
      }
    };
    const parallel = await Promise.all([settle(), settle()]);
    res.json([...parallel, await settle()]);
  });
  appServer.server.on('request', app);

  const browser = createBrowser();
  await browser.signIn(appServer.url, BOB, '/');
  const res = await browser.fetch(new URL('/refresh', appServer.url));
  expect(res.status).toBe(200);
  const refreshes = (await res.json()) as Settled[];
  const revoked = log.revoked();
  console.log(`chaos third party (express-openid-connect), grace ${graceS} s: refreshes ${refreshes.map((r) => (r.ok ? 'ok' : `failed (${r.error})`)).join(', ')}; revoked=${revoked}`);
  return { refreshes, revoked };
}

describe('express-openid-connect: two concurrent refresh() calls on one session, then a third', () => {
  test('all three succeed, the parallel pair gets one and the same answer, no grant revoked', async () => {
    const { refreshes, revoked } = await parallelRefreshes(30);
    expect(refreshes.map((r) => r.ok)).toEqual([true, true, true]);
    const [first, second, third] = refreshes as { accessToken: string }[];
    expect(first!.accessToken).toBe(second!.accessToken);
    expect(third!.accessToken).not.toBe(first!.accessToken);
    expect(revoked).toBe(0);
  });

  test('failure mode, grace 0: the second presentation revokes the grant, the third refresh fails too', async () => {
    const { refreshes, revoked } = await parallelRefreshes(0);
    expect(refreshes.filter((r) => !r.ok).length).toBeGreaterThanOrEqual(2);
    expect(refreshes[2]!.ok).toBe(false);
    expect(revoked).toBeGreaterThanOrEqual(1);
  });
});
