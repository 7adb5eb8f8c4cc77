import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { SignJWT, decodeJwt, generateKeyPair } from 'jose';
import type { Request, Response } from 'express';
import { createSealer } from '../common/sealed.js';
import { chunkName, joinValue } from '../app/cookie/chunks.js';
import { openSession } from '../app/cookie/payload.js';
import { type AuthSession, type Tokens, sessionFromTokens } from '../app/session.js';
import { createTokenCookie } from '../app/cookie/auth-cookie.js';

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

/** What the token endpoint returned, in characters: what the cookie has to carry. */
export const rawTokenBytes = (tokens: TokenSet) => tokens.idToken.length + tokens.accessToken.length + tokens.refreshToken.length;

/**
 * The same token set with claims added to its id token (re-signed), as an IdP releasing a long name or many groups
 * issues it: the app reads its display claims from the id token, so they are carried once.
 */
export async function withIdTokenClaims(tokens: TokenSet, extra: Record<string, unknown>): Promise<TokenSet> {
  return { ...tokens, idToken: await sign({ ...decodeJwt(tokens.idToken), ...extra }), claims: { ...tokens.claims, ...extra } };
}

/**
 * About `rawBytes` of tokens: scenario 1's set with a JWT access token and a `groups` claim long enough — the chunked case
 * (8 KB: three cookies). Groups, not a long name, so the page the bench fetches stays the same size.
 */
export async function largeTokenSet(rawBytes = 8 * 1024): Promise<TokenSet> {
  const base = await withJwtAccessToken(await syntheticTokenSet());
  // `"group-00000",` is 14 characters of JSON, 4/3 as many once base64url in the id token.
  const count = Math.max(0, Math.ceil(((rawBytes - rawTokenBytes(base)) * 3) / 4 / 14));
  return withIdTokenClaims(base, { groups: Array.from({ length: count }, (_, i) => `group-${String(i).padStart(5, '0')}`) });
}

/** The session the app would build from this token response, through the app's own sessionFromTokens. */
export function authSession(tokens: TokenSet, issuedAt = Date.now(), ttlMs = TOKEN_TTL_MS): AuthSession {
  const response = {
    id_token: tokens.idToken,
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    token_type: 'bearer',
    expires_in: ttlMs / 1000,
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
/** The app's own cookie writer, so the bench's cookies are chunked exactly as the app's (no ceiling: the bench measures). */
const writer = createTokenCookie({ secure: false, mode: 'persistent', sealer: authSealer, cacheEntries: 0, now: Date.now, maxBytes: Infinity });

/** `name=value` pairs of Set-Cookie lines. */
const pairs = (setCookies: readonly string[]) => new Map(setCookies.map((line) => line.split(';')[0]!.split('=') as [string, string]));

/** The Cookie header a browser sends back for this session: `auth=…`, and `auth.1=…`, … when the app would chunk it. */
export function authCookie(session: AuthSession): string {
  let lines: string[] = [];
  const res = { getHeader: () => undefined, setHeader: (_name: string, value: string[]) => void (lines = value) };
  writer.write({ headers: {} } as Request, res as unknown as Response, session);
  return lines.map((line) => line.split(';')[0]).join('; ');
}

/** The session inside a Set-Cookie value the app sent back (after a renewal), chunks joined. */
export function openAuthCookie(value: string): AuthSession {
  return openSession(authSealer, value)!;
}

/** The `auth` value from a response's Set-Cookie lines, chunks joined, if it set one. */
export function authCookieValue(setCookies: readonly string[]): string | undefined {
  const values = pairs(setCookies);
  const first = values.get('auth');
  return first === undefined ? undefined : joinValue(first, (index) => values.get(chunkName('auth', index)));
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
