import { afterEach, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import request from 'supertest';
import type { AuthSession } from '../../app/session.js';
import { createLogger } from '../../common/log.js';
import { type AccountRecord, hashPassword } from '../../idp/accounts.js';
import { type SetCookie, authCookieOf, openAuthCookie, signIn, startTestApp, switchableFetch, type TestClock } from '../helpers/app.js';
import { callEndpoint, clientSecret, endIdpSession, startTestIdp } from '../helpers/idp.js';
import { reserveServer } from '../helpers/ports.js';
import { SignInError, signInAtIdp } from '../helpers/sign-in.js';

/** Distinctive secrets: a common word like "secret" would also match field names. */
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;
const CAROL: AccountRecord = {
  sub: 'carol',
  username: 'carol',
  passwordHash: await hashPassword(PASSWORD),
  claims: { name: 'Carol', given_name: 'Carol', family_name: 'C', email: 'carol@example.com', email_verified: true, role: 'user' },
};
const credentials = { username: 'carol', password: PASSWORD };
/** Typed into the username field by mistake. */
const PASTED_PASSWORD = 'Tr0ub4dor&3-pasted-into-username';

/**
 * Each test its own IdP (with carol's accounts file), app, log and clock. The app on a real loopback port: the IdP
 * calls its back channel. `keep` records every value that must never reach a log line.
 */
async function stack() {
  const lines: string[] = [];
  const capture = (service: string) => createLogger(service, 'debug', (line) => lines.push(line));
  const secrets = new Set<string>([PASSWORD, WRONG_PASSWORD]);
  const keep = (...values: (string | undefined)[]) => values.forEach((value) => value && secrets.add(value));
  // Real time plus jumps: the logout token's iat is checked against the app's clock.
  let offset = 0;
  const clock: TestClock = { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
  const network = switchableFetch();
  const appServer = await reserveServer();
  const idp = await startTestIdp({ appBaseUrl: appServer.url, deps: { logger: capture('idp') } });
  await writeFile(idp.config.accountsFile, JSON.stringify([CAROL]));
  const bff = await startTestApp(idp, { clock, config: { baseUrl: new URL(appServer.url) }, deps: { logger: capture('app'), fetch: network.fetch } });
  appServer.server.on('request', bff.app);
  closers.push(appServer.close, bff.close, idp.close);
  keep(clientSecret(idp, 'mvc'), clientSecret(idp, 'api'));

  const keepSession = (cookie: SetCookie): AuthSession => {
    const session = openAuthCookie(cookie.value)!;
    keep(cookie.value, session.idToken, session.accessToken, session.refreshToken);
    return session;
  };
  const signedIn = async () => {
    const flow = await signIn(bff.app, '/about', { credentials });
    keep(flow.transaction.value, flow.callbackUrl.searchParams.get('code') ?? undefined, ...flow.atIdp.cookies.values());
    return { ...flow, session: keepSession(flow.cookie) };
  };
  const about = (cookie: SetCookie) => request(bff.app).get('/about').set('Cookie', cookie.pair);
  return { lines, capture, secrets, keepSession, clock, network, appServer, idp, bff, signedIn, about };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

test('no token, cookie, secret or password in any log line through sign-in, logout, renewal, transient and refused renewals', async () => {
  const { lines, secrets, keepSession, clock, network, appServer, idp, bff, signedIn, about } = await stack();
  // A wrong password first: the IdP logs the failure, but never the submitted name (people paste passwords there).
  const start = await request(bff.app).get('/login');
  await expect(signInAtIdp(start.headers.location!, { username: PASTED_PASSWORD, password: WRONG_PASSWORD })).rejects.toThrow(SignInError);
  secrets.add(PASTED_PASSWORD);

  // Logout: the app's, then the IdP's, which calls the app's back channel.
  const first = await signedIn();
  const logout = await request(bff.app).post('/logout').set('Origin', appServer.url).set('Cookie', first.cookie.pair);
  expect(logout.status).toBe(303);
  await endIdpSession(idp, first.atIdp.browser, first.session.idToken, `${appServer.url}/`);

  // Renewal.
  const second = await signedIn();
  clock.advance(31_000);
  const renewed = authCookieOf(await about(second.cookie))!;
  const current = keepSession(renewed);
  expect(current.renewals).toBe(1);

  // Transient failure: the IdP unreachable past half-life; the request is served with the current tokens.
  network.setDown(true);
  clock.advance(31_000);
  expect((await about(renewed)).status).toBe(200);
  network.setDown(false);

  // Refused renewal: the refresh token revoked at the IdP, so the next renewal ends the session.
  expect((await callEndpoint(idp, 'revocation_endpoint', { token: current.refreshToken!, token_type_hint: 'refresh_token' })).status).toBe(200);
  expect((await about(renewed)).status).toBe(302);

  const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
  for (const msg of ['login failed', 'back-channel logout', 'token refresh failed', 'token request refused', 'session ended: refresh refused']) {
    expect(messages).toContain(msg);
  }
  const leaks = lines.flatMap((line) => [...secrets].filter((secret) => line.includes(secret)).map((secret) => `${secret.slice(0, 12)}… in ${line}`));
  expect(leaks).toEqual([]);
  expect(lines.filter((line) => /eyJ[\w-]{10,}\.[\w-]{10,}/.test(line))).toEqual([]);
  expect(secrets.size).toBeGreaterThan(15);
});

test('a refresh token nested deep in a logged field is not printed', async () => {
  const { lines, capture, signedIn } = await stack();
  const { session } = await signedIn();
  const before = lines.length;
  const deep = { response: { body: { data: { tokens: { refresh_token: session.refreshToken, copy: session.refreshToken } } } } };
  capture('app').warn('deeply nested answer', deep);
  const written = lines.slice(before);
  expect(written.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['deeply nested answer']);
  expect(written.join('\n')).not.toContain(session.refreshToken!);
});
