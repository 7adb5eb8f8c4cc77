import * as client from 'openid-client';

/**
 * The bench as an OIDC client of the real IdP (in servers.ts): bob signs in through the login form,
 * the code is exchanged with openid-client, as the app does. test/helpers/idp.ts has the same flow,
 * but it imports @jest/globals and cannot load outside jest.
 */

export const BENCH_CLIENT_SECRET = 'bench-mvc-client-secret-000001';
/** The `mvc` client's redirect URI under the IdP's default APP_BASE_URL; nothing needs to listen there. */
const REDIRECT_URI = 'http://localhost:3000/signin-oidc';
const SCOPE = 'openid profile email offline_access';

export type Tokens = Awaited<ReturnType<typeof client.refreshTokenGrant>>;

export function discover(issuer: string): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), 'mvc', undefined, client.ClientSecretBasic(BENCH_CLIENT_SECRET), {
    execute: [client.allowInsecureRequests],
  });
}

/** A browser with a cookie jar at the IdP: follows redirects, posts bob's credentials, stops at the client's redirect URI. */
async function loginAsBob(authorizationUrl: URL): Promise<URL> {
  const jar = new Map<string, string>();
  let url = authorizationUrl;
  let form: URLSearchParams | undefined;
  for (let hop = 0; hop < 10; hop++) {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(url, { method: form ? 'POST' : 'GET', body: form, redirect: 'manual', headers: { cookie } });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const expired = /expires=Thu, 01 Jan 1970/i.test(line);
      if (expired) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    form = undefined;
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      if (url.href.startsWith(REDIRECT_URI)) return url;
      continue;
    }
    const action = /<form method="post" action="([^"]+)"/.exec(await res.text())?.[1];
    if (res.status !== 200 || !action) throw new Error(`unexpected IdP answer ${res.status} at ${url.pathname}`);
    url = new URL(action, url);
    form = new URLSearchParams({ username: 'bob', password: 'secret' });
  }
  throw new Error('sign-in: too many redirects');
}

/** The authorization code flow with PKCE, state and nonce: a fresh grant with its own refresh token. */
export async function signIn(config: client.Configuration): Promise<Tokens> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: SCOPE,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return client.authorizationCodeGrant(config, await loginAsBob(url), { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce });
}

/** One refresh_token grant, exactly as the app's refresh makes it. */
export function refresh(config: client.Configuration, refreshToken: string): Promise<Tokens> {
  return client.refreshTokenGrant(config, refreshToken);
}
