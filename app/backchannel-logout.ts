import express, { type RequestHandler, Router } from 'express';
import { type JWTVerifyGetKey, createRemoteJWKSet, jwtVerify } from 'jose';
import type { Logger } from '../common/log.js';
import type { AppConfig } from './config.js';
import type { IdpClient } from './idp-client.js';
import type { LogoutStore } from './store/logout-store.js';

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Logout tokens are fresh by nature: one issued longer ago than this is refused. */
const MAX_AGE_S = 120;

export class LogoutTokenError extends Error {
  override name = 'LogoutTokenError';
}

/** OpenID Connect Back-Channel Logout 1.0 §2.6, step by step. */
export async function verifyLogoutToken(token: string, keys: JWTVerifyGetKey, issuer: string, clientId: string, now: number) {
  const { payload } = await jwtVerify(token, keys, {
    issuer,
    audience: clientId,
    requiredClaims: ['iat'],
    maxTokenAge: MAX_AGE_S,
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
  return { sid: payload.sid as string | undefined, sub: payload.sub };
}

/** POST /backchannel-logout: the IdP tells us a session ended; cookies of that sid (or sub) become anonymous. */
export function backchannelLogout(config: AppConfig, idp: IdpClient, logouts: LogoutStore, keepMs: number, now: () => number, logger: Logger): Router {
  let keys: JWTVerifyGetKey | undefined;
  const handler: RequestHandler = async (req, res) => {
    res.set('Cache-Control', 'no-store');
    const token = (req.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof token !== 'string') return void res.status(400).json({ error: 'invalid_request', error_description: 'logout_token is required' });
    try {
      const metadata = (await idp.configuration()).serverMetadata();
      keys ??= createRemoteJWKSet(new URL(metadata.jwks_uri!), { timeoutDuration: config.idpTimeoutMs });
      const { sid, sub } = await verifyLogoutToken(token, keys, metadata.issuer, config.clientId, now());
      const forget = [sid && `sid:${sid}`, sub && !sid && `sub:${sub}`].filter((key): key is string => Boolean(key));
      await logouts.remember(forget, now(), keepMs);
      logger.info('back-channel logout', { sub });
      res.status(200).end();
    } catch (error) {
      if (error instanceof LogoutTokenError) {
        logger.warn('logout token rejected', { reason: error.message });
        return void res.status(400).json({ error: 'invalid_request', error_description: error.message });
      }
      logger.error('back-channel logout failed', { error });
      res.status(503).json({ error: 'temporarily_unavailable' });
    }
  };
  return Router().post('/', express.urlencoded({ extended: false, limit: '16kb' }), handler);
}
