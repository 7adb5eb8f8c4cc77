import express, { type RequestHandler, Router } from 'express';
import { type JWTVerifyGetKey, createRemoteJWKSet, jwtVerify } from 'jose';
import { errorClass } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { AppConfig } from '../config.js';
import type { CookieLifetimes } from '../cookie/lifetime.js';
import type { IdpClient } from '../idp-client.js';
import type { LogoutStore } from './store.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens are fresh by nature: one issued longer ago than this (plus the clock tolerance) is refused. */
const MAX_AGE_S = 120;
/** The explicit type (§2.4) oidc-provider sends; an id token is `JWT` and must never pass for a logout token. */
const LOGOUT_TYP = 'logout+jwt';
/** What an IdP that announces nothing signs id tokens with (OIDC Discovery 1.0 §3: RS256 MUST be supported). */
const DEFAULT_ALGORITHMS = ['RS256'];

/** The logout token is refused: the IdP gets 400 `invalid_request` with the reason (OIDC Back-Channel Logout §2.8). */
export class LogoutTokenError extends errorClass(400, 'invalid_request', true) {}

export interface LogoutTokenExpectations {
  issuer: string;
  clientId: string;
  /** Allowed disagreement between our clock and the IdP's, both ways, on iat, exp and on the token's age. */
  clockToleranceS: number;
  /** Signature algorithms accepted: the IdP's announced id-token algorithms (algorithmsOf). */
  algorithms: string[];
}

/** The IdP's announced id-token signing algorithms, less `none` and the HMAC ones (keyed with our secret, never in its JWKS). */
export function algorithmsOf(metadata: { id_token_signing_alg_values_supported?: string[] }): string[] {
  return (metadata.id_token_signing_alg_values_supported ?? DEFAULT_ALGORITHMS).filter((alg) => alg !== 'none' && !alg.startsWith('HS'));
}

/** OpenID Connect Back-Channel Logout 1.0 §2.4 and §2.6, step by step; the jti's replay is the caller's (it needs a store). */
export async function verifyLogoutToken(token: string, keys: JWTVerifyGetKey, { issuer, clientId, clockToleranceS, algorithms }: LogoutTokenExpectations, now: number) {
  const { payload } = await jwtVerify(token, keys, {
    issuer,
    audience: clientId,
    algorithms,
    typ: LOGOUT_TYP,
    requiredClaims: ['iat', 'exp', 'jti'],
    maxTokenAge: MAX_AGE_S,
    // Without it an app clock a second behind the IdP sees every logout token as issued in the future and ignores it.
    clockTolerance: clockToleranceS,
    currentDate: new Date(now),
  }).catch((cause: unknown) => {
    throw new LogoutTokenError('the logout token does not verify', { cause });
  });
  const events = payload.events as Record<string, unknown> | undefined;
  if (typeof events !== 'object' || events === null || typeof events[LOGOUT_EVENT] !== 'object' || events[LOGOUT_EVENT] === null) {
    throw new LogoutTokenError('the logout token lacks the back-channel logout event');
  }
  if (typeof payload.sid !== 'string' && typeof payload.sub !== 'string') throw new LogoutTokenError('the logout token names neither sid nor sub');
  if ('nonce' in payload) throw new LogoutTokenError('a logout token must not carry a nonce');
  if (typeof payload.jti !== 'string' || typeof payload.exp !== 'number') throw new LogoutTokenError('the logout token lacks a jti or an exp');
  return { sid: payload.sid as string | undefined, sub: payload.sub, jti: payload.jti, exp: payload.exp };
}

/**
 * POST /backchannel-logout: the IdP tells us a session ended; cookies of that sid (or sub) become anonymous for as long
 * as any cookie could live, and the token's jti is refused again for as long as the token itself could verify.
 */
export function backchannelLogout(config: AppConfig, idp: IdpClient, logouts: LogoutStore, lifetimes: CookieLifetimes, now: () => number, logger: Logger): Router {
  let keys: JWTVerifyGetKey | undefined;
  const toleranceMs = config.clockToleranceS * 1000;
  const handler: RequestHandler = async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const token = (req.body as Record<string, unknown> | undefined)?.logout_token;
    try {
      if (typeof token !== 'string') throw new LogoutTokenError('logout_token is required');
      const metadata = (await idp.configuration()).serverMetadata();
      keys ??= createRemoteJWKSet(new URL(metadata.jwks_uri!), { timeoutDuration: config.idpTimeoutMs });
      const expectations = { issuer: metadata.issuer, clientId: config.clientId, clockToleranceS: config.clockToleranceS, algorithms: algorithmsOf(metadata) };
      const { sid, sub, jti, exp } = await verifyLogoutToken(token, keys, expectations, now());
      const used = `jti:${jti}`;
      if ((await logouts.loggedOutAt([used])) !== undefined) throw new LogoutTokenError('the logout token was already used');
      const forget = [sid && `sid:${sid}`, sub && !sid && `sub:${sub}`].filter((key): key is string => Boolean(key));
      const at = now();
      await logouts.remember([...forget, used], at, Math.max(lifetimes.longestMs() + toleranceMs, exp * 1000 + toleranceMs - at));
      logger.info('back-channel logout', { sub });
      res.status(200).end();
    } catch (error) {
      if (error instanceof LogoutTokenError) {
        logger.warn('logout token rejected', { reason: error.message });
        return void res.status(error.status).json({ error: error.code, error_description: error.message });
      }
      logger.error('back-channel logout failed', { error });
      res.status(503).json({ error: 'temporarily_unavailable' });
    }
  };
  return Router().post('/', express.urlencoded({ extended: false, limit: '16kb' }), handler);
}
