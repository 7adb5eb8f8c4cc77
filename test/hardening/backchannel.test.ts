import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { openAuthCookie, startTestApp } from '../helpers/app.js';
import { type TestIdp, discover, startTestIdp } from '../helpers/idp.js';
import { endIdpSession, loopbackServer, signInWithIdpCookies } from './flows.js';

/** The app on a real loopback port, since the IdP calls it; the IdP configured with that URL. */
let appServer: Awaited<ReturnType<typeof loopbackServer>>;
let idp: TestIdp;
let bff: Awaited<ReturnType<typeof startTestApp>>;
const backchannel = { success: 0, error: [] as string[] };

beforeAll(async () => {
  appServer = await loopbackServer();
  idp = await startTestIdp({ appBaseUrl: appServer.url });
  idp.idp.provider.on('backchannel.success', () => void (backchannel.success += 1));
  idp.idp.provider.on('backchannel.error', (_ctx, error) => void backchannel.error.push(error.message));
  // Real time: the logout token's iat is checked against the app's clock.
  bff = await startTestApp(idp, { config: { baseUrl: new URL(appServer.url) }, deps: { now: Date.now } });
  appServer.server.on('request', bff.app);
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
    const { cookie, idpCookies } = await signInWithIdpCookies(bff.app);
    const session = openAuthCookie(cookie.value)!;
    expect(session.sid).toEqual(expect.any(String));
    expect((await request(bff.app).get('/about').set('Cookie', cookie.pair)).status).toBe(200);

    const confirmed = await endIdpSession(idp, idpCookies, session.idToken, `${appServer.url}/`);
    expect(confirmed.headers.get('location')).toBe(`${appServer.url}/`);
    expect(backchannel).toEqual({ success: 1, error: [] });

    expect(Date.now()).toBeLessThan(session.expiresAt);
    const after = await request(bff.app).get('/about').set('Cookie', cookie.pair);
    expect(after.status).toBe(302);
    expect(after.headers.location).toBe('/login?returnTo=%2Fabout');
  });

  test('another session of the same user is left alone', async () => {
    const kept = await signInWithIdpCookies(bff.app);
    const ended = await signInWithIdpCookies(bff.app);
    await endIdpSession(idp, ended.idpCookies, openAuthCookie(ended.cookie.value)!.idToken);
    expect((await request(bff.app).get('/about').set('Cookie', ended.cookie.pair)).status).toBe(302);
    expect((await request(bff.app).get('/about').set('Cookie', kept.cookie.pair)).status).toBe(200);
  });

  test.each([
    ['missing', {}],
    ['not a JWT', { logout_token: 'not-a-jwt' }],
    ['an id token, not a logout token', { logout_token: 'id-token' }],
  ])('a bad logout token (%s): 400', async (_case, form: Record<string, string>) => {
    if (form.logout_token === 'id-token') form.logout_token = openAuthCookie((await signInWithIdpCookies(bff.app)).cookie.value)!.idToken;
    const res = await fetch(`${appServer.url}/backchannel-logout`, { method: 'POST', body: new URLSearchParams(form) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });
});
