import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { authCookieOf, openAuthCookie, signIn, startTestApp, testClock } from '../helpers/app.js';
import { type TestIdp, discover, endIdpSession, startTestIdp } from '../helpers/idp.js';
import { reserveServer } from '../helpers/ports.js';

/** The app on a real loopback port, since the IdP calls it; the IdP configured with that URL. */
let appServer: Awaited<ReturnType<typeof reserveServer>>;
let idp: TestIdp;
let bff: Awaited<ReturnType<typeof startTestApp>>;
/** The app the IdP's back-channel calls reach: `bff` unless a test swaps in its own. */
let serving: Express;
const stopCounting: (() => void)[] = [];

/** The IdP's back-channel logout calls from now until the test ends: each test counts its own. */
function countBackchannel() {
  const calls = { success: 0, error: [] as string[] };
  const provider = idp.idp.provider;
  const success = () => void (calls.success += 1);
  const error = (_ctx: unknown, failure: Error) => void calls.error.push(failure.message);
  provider.on('backchannel.success', success);
  provider.on('backchannel.error', error);
  stopCounting.push(() => void provider.removeListener('backchannel.success', success).removeListener('backchannel.error', error));
  return calls;
}
afterEach(() => {
  for (const stop of stopCounting.splice(0)) stop();
});

beforeAll(async () => {
  appServer = await reserveServer();
  idp = await startTestIdp({ appBaseUrl: appServer.url });
  // Real time: the logout token's iat is checked against the app's clock.
  bff = await startTestApp(idp, { config: { baseUrl: new URL(appServer.url) }, deps: { now: Date.now } });
  serving = bff.app;
  appServer.server.on('request', (req, res) => serving(req, res));
});
afterAll(async () => {
  await appServer.close();
  await bff.close();
  await idp.close();
});

describe('OIDC Back-Channel Logout 1.0, IdP → app', () => {
  test('discovery announces it, with sessions', async () => {
    expect(await discover(idp)).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
  });

  test('signing out at the IdP makes the app cookie anonymous at once, though it has not expired', async () => {
    const backchannel = countBackchannel();
    const { cookie, atIdp } = await signIn(bff.app);
    const session = openAuthCookie(cookie.value)!;
    expect(session.sid).toEqual(expect.any(String));
    expect((await request(bff.app).get('/about').set('Cookie', cookie.pair)).status).toBe(200);

    const confirmed = await endIdpSession(idp, atIdp.browser, session.idToken, `${appServer.url}/`);
    expect(confirmed.headers.get('location')).toBe(`${appServer.url}/`);
    expect(backchannel).toEqual({ success: 1, error: [] });

    expect(Date.now()).toBeLessThan(session.expiresAt);
    const after = await request(bff.app).get('/about').set('Cookie', cookie.pair);
    expect(after.status).toBe(302);
    expect(after.headers.location).toBe('/login?returnTo=%2Fabout');
  });

  test('another session of the same user is left alone', async () => {
    const kept = await signIn(bff.app);
    const ended = await signIn(bff.app);
    await endIdpSession(idp, ended.atIdp.browser, openAuthCookie(ended.cookie.value)!.idToken);
    expect((await request(bff.app).get('/about').set('Cookie', ended.cookie.pair)).status).toBe(302);
    expect((await request(bff.app).get('/about').set('Cookie', kept.cookie.pair)).status).toBe(200);
  });

  test.each([
    ['missing', {}],
    ['not a JWT', { logout_token: 'not-a-jwt' }],
    ['an id token, not a logout token', { logout_token: 'id-token' }],
  ])('a bad logout token (%s): 400', async (_case, form: Record<string, string>) => {
    if (form.logout_token === 'id-token') form.logout_token = openAuthCookie((await signIn(bff.app)).cookie.value)!.idToken;
    const res = await fetch(`${appServer.url}/backchannel-logout`, { method: 'POST', body: new URLSearchParams(form) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('a skewed app clock (the IdP on real time)', () => {
  let skewed: Awaited<ReturnType<typeof startTestApp>> | undefined;
  afterEach(async () => {
    serving = bff.app;
    await skewed?.close();
  });

  /**
   * Two sessions of bob signed in, renewed past half-life, then one ended at the IdP; what the app then says of each.
   * The app's clock starts half a token lifetime early, so it reads the IdP's time + skewMs when it renews and when the logout token arrives.
   */
  async function renewThenLogout(skewMs: number, config: { clockToleranceS?: number } = {}) {
    const clock = testClock(Date.now() + skewMs - 30_000);
    skewed = await startTestApp(idp, { clock, config: { baseUrl: new URL(appServer.url), ...config } });
    serving = skewed.app;
    const kept = await signIn(skewed.app);
    const ended = await signIn(skewed.app);
    clock.advance(30_000);
    const renew = async (pair: string) => {
      const res = await request(skewed!.app).get('/about').set('Cookie', pair);
      return { status: res.status, cookie: authCookieOf(res) };
    };
    const keptRenewal = await renew(kept.cookie.pair);
    const endedRenewal = await renew(ended.cookie.pair);
    const backchannel = countBackchannel();
    await endIdpSession(idp, ended.atIdp.browser, openAuthCookie(endedRenewal.cookie!.value)!.idToken);
    const status = async (pair: string) => (await request(skewed!.app).get('/about').set('Cookie', pair)).status;
    return {
      renewals: [keptRenewal, endedRenewal].map(({ status, cookie }) => ({ status, renewals: cookie && openAuthCookie(cookie.value)!.renewals })),
      backchannel: { success: backchannel.success, error: backchannel.error.length },
      kept: await status(keptRenewal.cookie!.pair),
      ended: await status(endedRenewal.cookie!.pair),
      endedBeforeRenewal: await status(ended.cookie.pair),
    };
  }

  test.each([-30_000, 30_000])('app clock %i ms off: renewals work, the logout is honoured, the other session stays', async (skewMs) => {
    expect(await renewThenLogout(skewMs)).toEqual({
      renewals: [{ status: 200, renewals: 1 }, { status: 200, renewals: 1 }],
      backchannel: { success: 1, error: 0 },
      kept: 200,
      ended: 302,
      endedBeforeRenewal: 302,
    });
  });

  test.each([-2_000, -30_000])('failure mode, tolerance 0: app clock %i ms off refuses the logout token, the ended session stays signed in', async (skewMs) => {
    expect(await renewThenLogout(skewMs, { clockToleranceS: 0 })).toMatchObject({ backchannel: { success: 0, error: 1 }, kept: 200, ended: 200 });
  });
});
