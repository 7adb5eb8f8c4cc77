import * as client from 'openid-client';
import { signInAtIdp } from '../test/helpers/sign-in.js';

/**
 * The bench as an OIDC client of the real IdP (in servers.ts): bob signs in through the login form
 * (the tests' scripted sign-in), the code is exchanged with openid-client, as the app does.
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
  const { redirect } = await signInAtIdp(url);
  return client.authorizationCodeGrant(config, redirect, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce });
}

/** One refresh_token grant, exactly as the app's refresh makes it. */
export function refresh(config: client.Configuration, refreshToken: string): Promise<Tokens> {
  return client.refreshTokenGrant(config, refreshToken);
}
