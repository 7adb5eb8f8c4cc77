/** Browser flows that span the app and the IdP and keep the IdP's cookies, which test/helpers/app.ts signIn drops. */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import { authCookieOf, setCookies } from '../helpers/app.js';
import { type Credentials, type TestIdp, browserSignIn, discover } from '../helpers/idp.js';

/** A server bound to a free loopback port before anything is mounted: the IdP's config needs the app's URL first. */
export async function loopbackServer(): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      return closed.then(() => undefined);
    },
  };
}

/** /login → the IdP's form → /signin-oidc, as test/helpers/app.ts signIn does, keeping the IdP's cookies too. */
export async function signInWithIdpCookies(app: Express, credentials?: Credentials) {
  const start = await request(app).get('/login?returnTo=%2Fabout');
  const transaction = setCookies(start).find((cookie) => cookie.name === 'auth.tx')!;
  const { redirect, cookies: idpCookies } = await browserSignIn(start.headers.location!, credentials);
  const done = await request(app).get(redirect.pathname + redirect.search).set('Cookie', transaction.pair);
  const cookie = authCookieOf(done);
  if (done.status !== 302 || !cookie) throw new Error(`/signin-oidc answered ${done.status}: ${done.text.slice(0, 200)}`);
  return { cookie, idpCookies, transaction, callbackUrl: redirect };
}

/** RP-initiated logout as a browser does it: the end-session page with id_token_hint, then "Yes, sign me out". */
export async function endIdpSession(idp: TestIdp, idpCookies: Map<string, string>, idToken: string, postLogoutRedirectUri?: string) {
  const cookie = [...idpCookies].map(([name, value]) => `${name}=${value}`).join('; ');
  const url = new URL(String((await discover(idp)).end_session_endpoint));
  url.searchParams.set('id_token_hint', idToken);
  if (postLogoutRedirectUri) url.searchParams.set('post_logout_redirect_uri', postLogoutRedirectUri);
  const page = await fetch(url, { headers: { cookie, accept: 'text/html' } });
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !action || !xsrf) throw new Error(`unexpected end-session page ${page.status}: ${html.slice(0, 300)}`);
  const confirm = await fetch(new URL(action, url), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  if (confirm.status !== 303) throw new Error(`logout confirmation answered ${confirm.status}`);
  return confirm;
}
