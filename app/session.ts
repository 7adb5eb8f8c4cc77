import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { TokenEndpointResponse, TokenEndpointResponseHelpers } from 'openid-client';
import { UnusableAnswerError } from './errors.js';

/** Everything the auth cookie carries, sealed. Times are epoch milliseconds of the app's clock. */
export interface AuthSession {
  idToken: string;
  accessToken: string;
  refreshToken?: string;
  /** Display claims of `idToken`: never stored, the id token carries them (see displayClaims). */
  claims: Record<string, unknown>;
  issuedAt: number;
  expiresAt: number;
  renewals: number;
  /** The IdP session id (`sid`), for logout. */
  sid?: string;
  /** Only when the IdP sends no `sid`: a random id of this sign-in, kept through renewals, that POST /logout records. */
  signInId?: string;
}

export type Tokens = TokenEndpointResponse & TokenEndpointResponseHelpers;

const DISPLAY_CLAIMS = ['sub', 'name', 'given_name', 'family_name', 'email', 'email_verified', 'role'] as const;

const pickDisplayClaims = (all: Record<string, unknown>) =>
  Object.fromEntries(DISPLAY_CLAIMS.filter((name) => all[name] !== undefined).map((name) => [name, all[name]]));

/** Decoded without verifying: the id token was verified when the IdP sent it, and has been sealed since. */
export function displayClaims(idToken: string): Record<string, unknown> {
  return pickDisplayClaims(decodeJwt(idToken));
}

/**
 * A session from a token response: on renewal `previous` supplies what the IdP did not send again, and the new id
 * token must name the same user (OIDC Core §12.2) — otherwise the answer is not this session's. `sentAt` is when the
 * token request went out, so the session never outlives the token by the time the answer took.
 */
export function sessionFromTokens(tokens: Tokens, sentAt: number, previous?: AuthSession): AuthSession {
  const idToken = tokens.id_token ?? previous?.idToken;
  // The raw value, not expiresIn(), which counts down on the machine's clock and says 59 a millisecond later.
  const expiresIn = tokens.expires_in;
  if (!idToken || !tokens.access_token || expiresIn === undefined) {
    throw new UnusableAnswerError('token response lacks an id token, an access token or expires_in');
  }
  const idClaims = tokens.claims();
  if (previous && idClaims && idClaims.sub !== previous.claims.sub) {
    throw new UnusableAnswerError(`the refreshed id token names another user (sub ${String(idClaims.sub)})`);
  }
  const claims = idClaims ? pickDisplayClaims(idClaims) : (previous?.claims ?? {});
  const sid = typeof idClaims?.sid === 'string' ? idClaims.sid : previous?.sid;
  return {
    idToken,
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? previous?.refreshToken,
    claims,
    issuedAt: sentAt,
    expiresAt: sentAt + expiresIn * 1000,
    renewals: previous ? previous.renewals + 1 : 0,
    sid,
    signInId: sid ? undefined : (previous?.signInId ?? randomBytes(16).toString('base64url')),
  };
}

/** The shape check of an auth cookie of the previous format, which sealed the whole session, claims included. */
export function isAuthSession(value: unknown): value is AuthSession {
  const s = value as AuthSession;
  return (
    typeof s === 'object' && s !== null &&
    typeof s.idToken === 'string' && typeof s.accessToken === 'string' &&
    typeof s.issuedAt === 'number' && typeof s.expiresAt === 'number' &&
    typeof s.renewals === 'number' && typeof s.claims === 'object' && s.claims !== null
  );
}
