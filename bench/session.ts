import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { SignJWT, generateKeyPair } from 'jose';
import { createSealer } from '../common/sealed.js';
import { type AuthSession, type Tokens, sessionFromTokens } from '../app/session.js';

/**
 * Auth cookies minted without an IdP: the bench seals sessions with the app's own sealer,
 * and seals the equivalent express-openid-connect session with that library's own JWE code.
 */

export const BENCH_COOKIE_KEYS = ['bench-cookie-key-000000000001'];
export const EOC_SECRET = 'bench-eoc-secret-000000000000001';
export const TOKEN_TTL_MS = 60 * 60 * 1000;

/** The raw token set both libraries keep: what the IdP's token endpoint returned. */
export interface TokenSet {
  idToken: string;
  accessToken: string;
  refreshToken: string;
  claims: Record<string, unknown>;
}

const opaque = () => randomBytes(32).toString('base64url'); // oidc-provider's opaque tokens: 43 characters

const ISSUER = 'http://localhost:4000';
type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: Promise<SigningKey> | undefined;
const sign = async (payload: Record<string, unknown>, typ?: string) => {
  signingKey ??= generateKeyPair('ES256').then((pair) => pair.privateKey);
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: randomUUID(), ...(typ ? { typ } : {}) }).sign(await signingKey);
};

/**
 * A token set shaped like the demo IdP's: an ES256 id token with the same header and claims as bob's,
 * opaque access and refresh tokens. The scenarios that run without an IdP still carry realistic sizes.
 */
export async function syntheticTokenSet(): Promise<TokenSet> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { sub: 'bob', name: 'Bob Smith', given_name: 'Bob', family_name: 'Smith', role: 'user', email: 'bob@example.com', email_verified: true };
  const idToken = await sign({ ...claims, nonce: opaque(), aud: 'mvc', exp: iat + 60, iat, iss: ISSUER });
  return { idToken, accessToken: opaque(), refreshToken: opaque(), claims };
}

/**
 * The same token set with a JWT access token (RFC 9068 claims, ES256) in place of the opaque one:
 * what an IdP issuing JWT access tokens for an API audience would hand the app.
 */
export async function withJwtAccessToken(tokens: TokenSet): Promise<TokenSet> {
  const iat = Math.floor(Date.now() / 1000);
  const payload = {
    iss: ISSUER, sub: tokens.claims.sub, aud: 'http://localhost:5000', client_id: 'mvc',
    scope: 'openid profile email offline_access', jti: opaque(), iat, exp: iat + 60, auth_time: iat,
  };
  return { ...tokens, accessToken: await sign(payload, 'at+jwt') };
}

/** The session the app would build from this token response, through the app's own sessionFromTokens. */
export function authSession(tokens: TokenSet, issuedAt = Date.now(), ttlMs = TOKEN_TTL_MS): AuthSession {
  const response = {
    id_token: tokens.idToken,
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: 'bearer',
    expiresIn: () => ttlMs / 1000,
    claims: () => tokens.claims,
  };
  return sessionFromTokens(response as unknown as Tokens, issuedAt);
}

/** The same session moved back in time so that `now` is just past its half-life: the next request renews. */
export function pastHalfLife(session: AuthSession, now = Date.now()): AuthSession {
  const ttl = session.expiresAt - session.issuedAt;
  return { ...session, issuedAt: now - ttl / 2 - 1000, expiresAt: now + ttl / 2 - 1000 };
}

const authSealer = createSealer(BENCH_COOKIE_KEYS, 'auth-cookie');

/** `auth=…` exactly as cookie-session writes it: base64(JSON({ t: sealed })). */
export function authCookie(session: AuthSession): string {
  return `auth=${Buffer.from(JSON.stringify({ t: authSealer.seal(session) })).toString('base64')}`;
}

/** The session inside a Set-Cookie value the app sent back (after a renewal). */
export function openAuthCookie(value: string): AuthSession {
  const { t } = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as { t: string };
  return authSealer.open(t) as AuthSession;
}

/** The `auth` value from a response's Set-Cookie lines, if it set one. */
export function authCookieValue(setCookies: readonly string[]): string | undefined {
  const line = setCookies.find((candidate) => candidate.startsWith('auth='));
  return line?.slice('auth='.length).split(';')[0];
}

interface EocCrypto {
  encryption(secret: string): Buffer;
  encryptSync(payload: string, key: Buffer, headers: Record<string, number>): string;
}
const eocCrypto = createRequire(import.meta.url)('express-openid-connect/lib/crypto.js') as EocCrypto;
/** express-openid-connect's default rolling window: the cookie's `exp` is re-stamped on every response. */
const EOC_ROLLING_S = 24 * 60 * 60;

/** `appSession=…` as express-openid-connect writes it after its callback: a dir/A256GCM JWE of the same tokens. */
export function eocCookie(tokens: TokenSet, issuedAt = Date.now(), ttlMs = TOKEN_TTL_MS): string {
  const iat = Math.floor(issuedAt / 1000);
  const session = {
    id_token: tokens.idToken,
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: 'Bearer',
    expires_at: iat + Math.floor(ttlMs / 1000),
  };
  const jwe = eocCrypto.encryptSync(JSON.stringify(session), eocCrypto.encryption(EOC_SECRET), { iat, uat: iat, exp: iat + EOC_ROLLING_S });
  return `appSession=${jwe}`;
}
