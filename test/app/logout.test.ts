/**
 * POST /logout means logout: a copy of the auth cookie taken before it (a stolen one, another tab's) is anonymous at
 * once, on every app instance, for as long as the cookie could live; the /bff/api proxy refuses it too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { defaultClients } from '../../idp/config.js';
import { createMemoryLogoutStore } from '../../app/logout/store-memory.js';
import { createMemoryRenewalStore } from '../../app/renewal/store-memory.js';
import type { RenewalStore } from '../../app/renewal/store.js';
import { type SetCookie, authCookieOf, openAuthCookie, signIn, startTestApp, testClock } from '../helpers/app.js';
import { type TestIdp, endIdpSession, startTestIdp } from '../helpers/idp.js';
import { reserveServer } from '../helpers/ports.js';
import { describeWithRedisServer } from '../helpers/suite.js';

/** A stand-in API that answers every call: a request that reaches it got past the BFF. */
let api: Server;
let apiUrl: URL;
beforeAll(async () => {
  api = createServer((_req, res) => void res.setHeader('content-type', 'application/json').end('{"reached":"api"}'));
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = new URL(`http://127.0.0.1:${(api.address() as AddressInfo).port}`);
});
afterAll(async () => {
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function idpWith(overrides: Parameters<typeof startTestIdp>[0] = {}) {
  const idp = await startTestIdp(overrides);
  closers.push(idp.close);
  return idp;
}

async function appOn(idp: TestIdp, options: Parameters<typeof startTestApp>[1] = {}) {
  const instance = await startTestApp(idp, { ...options, config: { apiUrl, ...options.config } });
  closers.push(instance.close);
  return instance;
}

/** What a cookie opens now: the About page (200) or the way to sign in (302), and the API through the BFF. */
async function reach(app: Express, cookie: SetCookie) {
  const page = await request(app).get('/about').set('Cookie', cookie.pair);
  const proxied = await request(app).get('/bff/api/profile').set('Cookie', cookie.pair).set('X-CSRF', '1');
  return { about: page.status, api: proxied.status };
}

const SIGNED_IN = { about: 200, api: 200 };
const ANONYMOUS = { about: 302, api: 401 };

async function postLogout(app: Express, cookie: SetCookie, origin: string) {
  const res = await request(app).post('/logout').set('Cookie', cookie.pair).set('Origin', origin);
  expect(res.status).toBe(303);
  expect(authCookieOf(res)!.value).toBe('');
}

describe('POST /logout ends every copy of the session', () => {
  test('a copy of the cookie taken before the logout is anonymous at once, on pages and through /bff/api; another session of the user stays', async () => {
    const idp = await idpWith();
    const { app, config } = await appOn(idp);
    const { cookie: copy } = await signIn(app);
    const { cookie: otherSession } = await signIn(app);
    expect(await reach(app, copy)).toEqual(SIGNED_IN);
    await postLogout(app, copy, config.baseUrl.origin);
    expect(await reach(app, copy)).toEqual(ANONYMOUS);
    expect(await reach(app, otherSession)).toEqual(SIGNED_IN);
  });

  test('an IdP that sends no sid: the session is named by its own sign-in id, so the user\'s other sessions stay', async () => {
    const [mvc, ...others] = defaultClients({ appBaseUrl: 'http://localhost:3000', mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' });
    const { backchannel_logout_uri: _uri, backchannel_logout_session_required: _required, ...withoutSid } = mvc!;
    const idp = await idpWith({ clients: [withoutSid, ...others] });
    const { app, config } = await appOn(idp);
    const { cookie: copy } = await signIn(app);
    const { cookie: otherSession } = await signIn(app);
    expect(openAuthCookie(copy.value)!.sid).toBeUndefined();
    await postLogout(app, copy, config.baseUrl.origin);
    expect(await reach(app, copy)).toEqual(ANONYMOUS);
    expect(await reach(app, otherSession)).toEqual(SIGNED_IN);
  });

  test('a long-lived cookie (700-s tokens) is still refused 301 s after the logout, before its half-life', async () => {
    const idp = await idpWith({ ttl: { accessToken: 700, refreshToken: 700, idToken: 700 } });
    const clock = testClock();
    const { app, config } = await appOn(idp, { clock });
    const { cookie: copy } = await signIn(app);
    await postLogout(app, copy, config.baseUrl.origin);
    clock.advance(301_000);
    expect(await reach(app, copy)).toEqual(ANONYMOUS);
  });

  test('a logout that lands while a copy is being renewed: the renewal does not bring the session back', async () => {
    const idp = await idpWith();
    const clock = testClock();
    const logouts = createMemoryLogoutStore(clock.now);
    const local = createMemoryRenewalStore(clock.now);
    const copied: { sid?: string } = {};
    // The user's logout arrives (on any instance) while the copy's refresh is at the IdP, which answers it all the same.
    const renewalStore: RenewalStore = {
      renew: (token, validUntil, refresh) =>
        local.renew(token, validUntil, async () => {
          await logouts.remember([`sid:${copied.sid}`], clock.now(), 60_000);
          clock.advance(1);
          return refresh();
        }),
      close: () => local.close(),
    };
    const { app } = await appOn(idp, { clock, deps: { logouts, renewalStore } });
    const { cookie: copy } = await signIn(app);
    copied.sid = openAuthCookie(copy.value)!.sid;
    clock.advance(31_000);
    const res = await request(app).get('/about').set('Cookie', copy.pair);
    expect(res.status).toBe(302);
    expect(authCookieOf(res)!.value).toBe('');
  });
});

describeWithRedisServer('POST /logout on one instance, the copy on another sharing Redis', (server) => {

  test('the copy is anonymous on the other instance too', async () => {
    const idp = await idpWith();
    const clock = testClock();
    const [a, b] = [await appOn(idp, { clock, config: { redisUrl: server().url } }), await appOn(idp, { clock, config: { redisUrl: server().url } })];
    const { cookie: copy } = await signIn(a.app);
    const { cookie: otherSession } = await signIn(b.app);
    expect(await reach(b.app, copy)).toEqual(SIGNED_IN);
    await postLogout(a.app, copy, a.config.baseUrl.origin);
    // Replication is a publication: bounded wait for it.
    let seen = await reach(b.app, copy);
    for (let i = 0; i < 40 && seen.about !== 302; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      seen = await reach(b.app, copy);
    }
    expect(seen).toEqual(ANONYMOUS);
    expect(await reach(b.app, otherSession)).toEqual(SIGNED_IN);
  });
});

describe('back-channel logout of a long-lived session', () => {
  test('the IdP\'s logout of a session with 700-s tokens still holds 301 s later, before the cookie\'s half-life', async () => {
    const appServer = await reserveServer();
    closers.push(appServer.close);
    const idp = await idpWith({ appBaseUrl: appServer.url, ttl: { accessToken: 700, refreshToken: 700, idToken: 700 } });
    const clock = testClock();
    const { app } = await appOn(idp, { clock, config: { baseUrl: new URL(appServer.url) } });
    appServer.server.on('request', app);
    const { cookie, atIdp } = await signIn(app);
    expect(await reach(app, cookie)).toEqual(SIGNED_IN);
    await endIdpSession(idp, atIdp.browser, openAuthCookie(cookie.value)!.idToken);
    expect(await reach(app, cookie)).toEqual(ANONYMOUS);
    clock.advance(301_000);
    expect(await reach(app, cookie)).toEqual(ANONYMOUS);
  });
});
