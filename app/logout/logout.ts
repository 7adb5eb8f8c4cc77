import type { RequestHandler } from 'express';
import * as client from 'openid-client';
import type { Logger } from '../../common/log.js';
import type { AppConfig } from '../config.js';
import type { CookieLifetimes } from '../cookie/lifetime.js';
import { ForbiddenError } from '../errors.js';
import type { IdpClient } from '../idp-client.js';
import { type LogoutStore, sessionKey } from './store.js';
import type { TokenCookie } from '../cookie/auth-cookie.js';

/** CSRF defence for state-changing POSTs: the browser's Origin (or, failing that, Referer) must be ours. */
export function sameOrigin(config: AppConfig): RequestHandler {
  return (req, _res, next) => {
    const source = req.get('origin') ?? req.get('referer');
    let origin: string | undefined;
    try {
      origin = source ? new URL(source).origin : undefined;
    } catch {
      origin = undefined;
    }
    if (origin !== config.baseUrl.origin) throw new ForbiddenError('This request did not come from this site.');
    next();
  };
}

export interface LogoutDeps {
  cookie: TokenCookie;
  logouts: LogoutStore;
  lifetimes: CookieLifetimes;
  now: () => number;
  logger: Logger;
}

/**
 * POST /logout: record the session as logged out, so every copy of its cookie (another tab's, a stolen one) is anonymous
 * on every instance for as long as such a cookie could live; revoke the refresh token (RFC 7009), drop the cookie, end
 * the IdP session too.
 */
export function logout(config: AppConfig, idp: IdpClient, { cookie, logouts, lifetimes, now, logger }: LogoutDeps): RequestHandler {
  return async (req, res) => {
    const session = cookie.read(req);
    cookie.clear(req, res);
    if (!session) return res.redirect(303, '/');
    // First, whatever the IdP does next: clearing this browser's cookie does nothing to the copies.
    await logouts.remember([sessionKey(session)], now(), lifetimes.longestMs() + config.clockToleranceS * 1000);
    try {
      const configuration = await idp.configuration();
      if (session.refreshToken) await client.tokenRevocation(configuration, session.refreshToken, { token_type_hint: 'refresh_token' });
      const endSession = client.buildEndSessionUrl(configuration, {
        id_token_hint: session.idToken,
        post_logout_redirect_uri: new URL('/', config.baseUrl).href,
      });
      res.redirect(303, endSession.href);
    } catch (error) {
      // The app session is over whatever the IdP says; the refresh token dies with its one-minute lifetime.
      logger.warn('logout at the IdP failed', { error });
      res.redirect(303, '/');
    }
  };
}
