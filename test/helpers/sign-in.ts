/**
 * The one scripted sign-in, for the tests, the bench, the soak and the chaos run (jest-free: scripts import it too).
 * A browser that keeps cookies by host and path (ports share them, as in browsers), honours their expiry and follows
 * redirects by hand: the app's /login, the IdP's /auth and login form, /signin-oidc, and back to the page asked for.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** The IdP's built-in demo account (idp/accounts.ts). */
export const BOB: Credentials = { username: 'bob', password: 'secret' };

export class SignInError extends Error {
  override name = 'SignInError';
}

export class SignOutError extends Error {
  override name = 'SignOutError';
}

export interface Cookie {
  value: string;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
}

export interface Browser {
  /** One request: the cookies for its host and path sent, the answer's stored, no redirect followed. */
  fetch(url: URL, init?: { method?: string; body?: URLSearchParams; headers?: Record<string, string> }): Promise<Response>;
  /** The cookie as the browser holds it now, undefined once expired. */
  cookie(url: URL, name: string): Cookie | undefined;
  /** Every live cookie held for the URL's host, by name. */
  cookies(url: URL): Map<string, string>;
  /** /login → the IdP's form → /signin-oidc, stopping at the redirect back to `returnTo`. */
  signIn(appUrl: string, credentials?: Credentials, returnTo?: string): Promise<void>;
  /** The app's sign-out button, then "Yes, sign me out" at the IdP, stopping at the redirect back to the app. */
  signOut(appUrl: string): Promise<void>;
}

/** What a browser holds after the IdP's login form: where the IdP sent it back to (code, state, iss) and the IdP's cookies. */
export interface IdpSignIn {
  redirect: URL;
  cookies: Map<string, string>;
  browser: Browser;
}

const LOGIN_FORM = /<form method="post" action="([^"]+)"/;

/** One Set-Cookie line: its name and value, and its attributes by lower-cased name (a flag such as HttpOnly is `true`). */
export function parseSetCookieLine(line: string): { name: string; value: string; pair: string; attributes: Record<string, string | true> } {
  const [pair = '', ...rest] = line.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const attributes = Object.fromEntries(
    rest.map((attr) => {
      const i = attr.indexOf('=');
      return i < 0 ? [attr.toLowerCase(), true] : [attr.slice(0, i).toLowerCase(), attr.slice(i + 1)];
    }),
  );
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), pair, attributes };
}

function parseSetCookie(line: string, now: number): { name: string; cookie: Cookie } {
  const { name, value, attributes } = parseSetCookieLine(line);
  const text = (key: string) => (typeof attributes[key] === 'string' ? attributes[key] : undefined);
  const maxAge = text('max-age');
  const expires = text('expires');
  return {
    name,
    cookie: {
      value,
      path: text('path') ?? '/',
      expires: maxAge !== undefined ? now + Number(maxAge) * 1000 : expires !== undefined ? Date.parse(expires) : undefined,
    },
  };
}

/** `now`: the clock cookie expiry is read on (a test's moved clock, or real time). */
export function createBrowser(now: () => number = Date.now): Browser {
  const jar = new Map<string, Cookie & { host: string; name: string }>();
  const live = (cookie: Cookie) => cookie.expires === undefined || cookie.expires > now();
  const held = (url: URL) => [...jar.values()].filter((cookie) => cookie.host === url.hostname && live(cookie));
  const store = (url: URL, res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const { name, cookie } = parseSetCookie(line, now());
      const key = `${url.hostname};${cookie.path};${name}`;
      if (live(cookie)) jar.set(key, { ...cookie, host: url.hostname, name });
      else jar.delete(key);
    }
  };

  const browser: Browser = {
    async fetch(url, { method = 'GET', body, headers = {} } = {}) {
      const cookie = held(url)
        .filter((candidate) => url.pathname.startsWith(candidate.path))
        .map((candidate) => `${candidate.name}=${candidate.value}`)
        .join('; ');
      const res = await fetch(url, { method, body, redirect: 'manual', headers: { accept: 'text/html', ...headers, cookie } });
      store(url, res);
      return res;
    },
    cookie: (url, name) => held(url).find((cookie) => cookie.name === name && url.pathname.startsWith(cookie.path)),
    cookies: (url) => new Map(held(url).map((cookie) => [cookie.name, cookie.value])),
    async signIn(appUrl, credentials = BOB, returnTo = '/about') {
      const app = new URL(appUrl);
      await follow(browser, new URL(`/login?returnTo=${encodeURIComponent(returnTo)}`, app), credentials, (url) => url.origin === app.origin && url.pathname === returnTo);
    },
    async signOut(appUrl) {
      const app = new URL(appUrl);
      const logout = await browser.fetch(new URL('/logout', app), { method: 'POST', headers: { origin: app.origin } });
      await logout.arrayBuffer();
      const endSession = new URL(logout.headers.get('location') ?? '/', app);
      if (endSession.origin === app.origin) throw new SignOutError(`the app did not send us to the IdP (${logout.status})`);
      const confirmed = await confirmSignOut(browser, endSession);
      if (new URL(confirmed.headers.get('location') ?? '', endSession).origin !== app.origin) throw new SignOutError(`logout confirmation answered ${confirmed.status}`);
    },
  };
  return browser;
}

/** Requests `start` and wherever it leads, filling in the IdP's login form, until a redirect `done` accepts; returns that URL. */
async function follow(browser: Browser, start: URL, credentials: Credentials, done: (url: URL) => boolean): Promise<URL> {
  let url = start;
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < 12; hop += 1) {
    const res = await browser.fetch(url, { method: form ? 'POST' : 'GET', body: form });
    const page = await res.text();
    form = undefined;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      if (done(url)) return url;
      continue;
    }
    if (res.status === 401) throw new SignInError(`sign-in refused for ${credentials.username}`);
    const action = LOGIN_FORM.exec(page)?.[1];
    if (res.status !== 200 || !action) throw new SignInError(`sign-in stuck at ${url.pathname}: ${res.status} ${page.slice(0, 300)}`);
    url = new URL(action, url);
    form = new URLSearchParams({ username: credentials.username, password: credentials.password });
  }
  throw new SignInError('too many redirects');
}

/** From an authorization URL through the IdP's login form, stopping at the redirect that leaves the IdP for the client. */
export async function signInAtIdp(authorizationUrl: string | URL, credentials: Credentials = BOB, browser = createBrowser()): Promise<IdpSignIn> {
  const start = new URL(authorizationUrl);
  const redirect = await follow(browser, start, credentials, (url) => url.origin !== start.origin);
  return { redirect, cookies: browser.cookies(start), browser };
}

/** The IdP's "sign out?" page at `url`, answered "yes": returns the IdP's answer, a redirect where all went well. */
export async function confirmSignOut(browser: Browser, url: URL): Promise<Response> {
  const page = await browser.fetch(url);
  const html = await page.text();
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !action || !xsrf) throw new SignOutError(`unexpected end-session page ${page.status}: ${html.slice(0, 300)}`);
  const confirmed = await browser.fetch(new URL(action, url), { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }) });
  await confirmed.arrayBuffer();
  return confirmed;
}
