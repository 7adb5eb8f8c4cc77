/** Just enough of a browser for the soak: cookies scoped by host and path (ports share them, as in browsers), expiry honoured, manual redirects. */

export interface Cookie {
  value: string;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
}

export class SignInFailed extends Error {
  override name = 'SignInFailed';
}

export class SignOutFailed extends Error {
  override name = 'SignOutFailed';
}

export interface Browser {
  fetch(url: URL, init?: { method?: string; body?: URLSearchParams; headers?: Record<string, string> }): Promise<Response>;
  /** The cookie as the browser holds it now, undefined once expired. */
  cookie(url: URL, name: string): Cookie | undefined;
  /** /login → the IdP's form → /signin-oidc, stopping at the redirect back to `returnTo`. */
  signIn(appUrl: string, credentials: { username: string; password: string }, returnTo?: string): Promise<void>;
  /** The app's sign-out button, then "Yes, sign me out" at the IdP, stopping at the redirect back to the app. */
  signOut(appUrl: string): Promise<void>;
}

function parseSetCookie(line: string, now: number): { name: string; cookie: Cookie } {
  const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
  const eq = pair.indexOf('=');
  const attribute = (key: string) => attributes.find((attr) => attr.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
  const maxAge = attribute('max-age');
  const expires = attribute('expires');
  return {
    name: pair.slice(0, eq),
    cookie: {
      value: pair.slice(eq + 1),
      path: attribute('path') ?? '/',
      expires: maxAge !== undefined ? now + Number(maxAge) * 1000 : expires !== undefined ? Date.parse(expires) : undefined,
    },
  };
}

export function createBrowser(now: () => number = Date.now): Browser {
  const jar = new Map<string, Cookie & { host: string; name: string }>();
  const live = (cookie: Cookie) => cookie.expires === undefined || cookie.expires > now();
  const header = (url: URL) =>
    [...jar.values()]
      .filter((cookie) => cookie.host === url.hostname && url.pathname.startsWith(cookie.path) && live(cookie))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
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
      const res = await fetch(url, { method, body, redirect: 'manual', headers: { accept: 'text/html', ...headers, cookie: header(url) } });
      store(url, res);
      return res;
    },
    cookie(url, name) {
      const found = [...jar.values()].find((cookie) => cookie.host === url.hostname && cookie.name === name && url.pathname.startsWith(cookie.path));
      return found && live(found) ? found : undefined;
    },
    async signIn(appUrl, credentials, returnTo = '/about') {
      let url = new URL(`/login?returnTo=${encodeURIComponent(returnTo)}`, appUrl);
      let form: URLSearchParams | undefined;
      for (let hop = 0; hop < 12; hop += 1) {
        const res = await browser.fetch(url, { method: form ? 'POST' : 'GET', body: form });
        const page = await res.text();
        form = undefined;
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          url = new URL(location, url);
          if (url.origin === new URL(appUrl).origin && url.pathname === returnTo) return;
          continue;
        }
        const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
        if (res.status !== 200 || !action) throw new SignInFailed(`sign-in stuck at ${url.pathname}: ${res.status}`);
        url = new URL(action, url);
        form = new URLSearchParams(credentials);
      }
      throw new SignInFailed('too many redirects');
    },
    async signOut(appUrl) {
      const app = new URL(appUrl);
      const logout = await browser.fetch(new URL('/logout', app), { method: 'POST', headers: { origin: app.origin } });
      await logout.arrayBuffer();
      const endSession = new URL(logout.headers.get('location') ?? '/', app);
      if (endSession.origin === app.origin) throw new SignOutFailed(`the app did not send us to the IdP (${logout.status})`);
      const page = await browser.fetch(endSession);
      const html = await page.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
      if (page.status !== 200 || !action || !xsrf) throw new SignOutFailed(`unexpected end-session page: ${page.status}`);
      const confirmed = await browser.fetch(new URL(action, endSession), { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }) });
      await confirmed.arrayBuffer();
      if (new URL(confirmed.headers.get('location') ?? '', endSession).origin !== app.origin) throw new SignOutFailed(`logout confirmation answered ${confirmed.status}`);
    },
  };
  return browser;
}
