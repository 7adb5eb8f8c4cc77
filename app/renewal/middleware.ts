import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../common/log.js';
import { type CookieLifetimes, createCookieLifetimes } from '../cookie/lifetime.js';
import type { Refresh } from './refresh.js';
import { isExpired, shouldRenew } from './policy.js';
import type { AuthSession } from '../session.js';
import { type LogoutStore, isLoggedOut, logoutKeys } from '../logout/store.js';
import type { RenewalStore } from './store.js';
import type { TokenCookie } from '../cookie/auth-cookie.js';

export interface AuthContext {
  user: Record<string, unknown>;
  idToken: string;
  accessToken: string;
  issuedAt: number;
  expiresAt: number;
  renewals: number;
  sid?: string;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own types extend Request through this namespace
  namespace Express {
    interface Request {
      /** Set when the request carries a valid, unexpired auth cookie (renewed if it was past half-life). */
      auth?: AuthContext;
    }
  }
}

export interface AuthMiddlewareOptions {
  cookie: TokenCookie;
  refresh: Refresh;
  renewalStore: RenewalStore;
  logouts: LogoutStore;
  now: () => number;
  logger: Logger;
  /** Fed every cookie read or renewed here; the logout handlers read it (bff.ts shares one). */
  lifetimes?: CookieLifetimes;
}

function toContext({ claims, idToken, accessToken, issuedAt, expiresAt, renewals, sid }: AuthSession): AuthContext {
  return { user: claims, idToken, accessToken, issuedAt, expiresAt, renewals, sid };
}

/**
 * Reads the auth cookie on every request and renews the tokens at or past half-life.
 * Mount it before the routes that need `req.auth`; it never rejects a request itself.
 */
export function authMiddleware({ cookie, refresh, renewalStore, logouts, now, logger, lifetimes = createCookieLifetimes() }: AuthMiddlewareOptions): RequestHandler {
  // An unreachable logout store must not log everyone out: the IdP refuses the next renewal anyway.
  const storeFailed = (error: unknown) => {
    logger.error('logout store failed', { error });
    return false;
  };
  // A session's logout keys, built once: the cookie memo hands back the same session object until the next renewal.
  const keysOf = new WeakMap<AuthSession, readonly string[]>();
  const keys = (session: AuthSession) => keysOf.get(session) ?? keysOf.set(session, logoutKeys(session)).get(session)!;
  const loggedOut = (session: AuthSession): boolean | Promise<boolean> => {
    try {
      const dead = isLoggedOut(logouts, session, keys(session));
      return dead instanceof Promise ? dead.catch(storeFailed) : dead;
    } catch (error) {
      return storeFailed(error);
    }
  };

  const renew = async (req: Request, res: Response, session: AuthSession): Promise<AuthSession | undefined> => {
    try {
      const outcome = await renewalStore.renew(session.refreshToken!, session.expiresAt, () => refresh(session));
      if (outcome.kind === 'renewed') {
        lifetimes.observe(outcome.session);
        // A logout that landed while the refresh was at the IdP still ends the session: judged by the cookie renewed.
        if (await loggedOut({ ...outcome.session, issuedAt: session.issuedAt })) {
          cookie.clear(req, res);
          return undefined;
        }
        cookie.write(req, res, outcome.session);
        return outcome.session;
      }
      if (outcome.kind === 'stale') {
        // Not cleared: this may be a request the browser sent before it stored the renewed cookie, which clearing would delete.
        logger.info('stale cookie refused: renewed longer ago than the stale-cookie grace', { sub: session.claims.sub });
        return undefined;
      }
      if (outcome.kind === 'refused') {
        logger.info('session ended: refresh refused', { reason: outcome.reason, sub: session.claims.sub });
        cookie.clear(req, res);
        return undefined;
      }
    } catch (error) {
      logger.error('renewal failed', { error });
    }
    return session;
  };

  const signedIn = (req: Request, res: Response, next: NextFunction, session: AuthSession | undefined) => {
    if (session) {
      req.auth = toContext(session);
      res.locals.user = session.claims;
    }
    next();
  };

  /** After the expiry and logout checks: a dead session's cookie cleared, one past half-life renewed, the rest attached. */
  const proceed = (req: Request, res: Response, next: NextFunction, session: AuthSession, at: number, dead: boolean) => {
    if (dead) {
      cookie.clear(req, res);
      return next();
    }
    if (session.refreshToken && shouldRenew(at, session.issuedAt, session.expiresAt)) {
      return renew(req, res, session).then((renewed) => signedIn(req, res, next, renewed));
    }
    signedIn(req, res, next, session);
  };

  // Synchronous unless the request renews (or a custom logout store answers later): most requests make no promise at all.
  const attach: RequestHandler = (req, res, next) => {
    const session = cookie.read(req);
    if (!session) {
      if (cookie.sent(req)) cookie.clear(req, res);
      return next();
    }
    lifetimes.observe(session);
    const at = now();
    if (isExpired(at, session.expiresAt)) return proceed(req, res, next, session, at, true);
    const dead = loggedOut(session);
    if (dead instanceof Promise) return dead.then((isDead) => proceed(req, res, next, session, at, isDead));
    return proceed(req, res, next, session, at, dead);
  };

  return attach;
}

/** For pages: anonymous visitors go to login and come back. */
export const requireAuth: RequestHandler = (req, res, next) => {
  if (req.auth) return next();
  res.redirect(`/login?returnTo=${encodeURIComponent(req.originalUrl)}`);
};
