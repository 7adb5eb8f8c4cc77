import cookieSession from 'cookie-session';
import type { Request, RequestHandler } from 'express';
import type { CookieMode } from './config.js';
import type { Sealer } from './sealed.js';
import { type AuthSession, isAuthSession } from './session.js';

/**
 * The auth cookie: cookie-session carries it, our sealer makes it secret.
 * cookie-session only signs, so its signature is switched off: the AEAD tag already authenticates.
 */
export interface TokenCookie {
  middleware: RequestHandler;
  read(req: Request): AuthSession | undefined;
  write(req: Request, session: AuthSession): void;
  clear(req: Request): void;
}

export interface TokenCookieOptions {
  /** https: `Secure` and the `__Host-` prefix. */
  secure: boolean;
  mode: CookieMode;
  sealer: Sealer;
  name?: string;
}

export function tokenCookieName(secure: boolean, name = 'auth'): string {
  return secure ? `__Host-${name}` : name;
}

export function createTokenCookie({ secure, mode, sealer, name = 'auth' }: TokenCookieOptions): TokenCookie {
  const middleware = cookieSession({
    name: tokenCookieName(secure, name),
    signed: false,
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
  });
  return {
    middleware,
    read(req) {
      const sealed = (req.session as { t?: unknown } | null)?.t;
      if (typeof sealed !== 'string') return undefined;
      const session = sealer.open(sealed);
      return isAuthSession(session) ? session : undefined;
    },
    write(req, session) {
      // cookie-session sends Set-Cookie only because `t` changes: untouched requests send none.
      req.session = { t: sealer.seal(session) };
      if (mode === 'persistent') req.sessionOptions.expires = new Date(session.expiresAt);
    },
    clear(req) {
      req.session = null;
    },
  };
}
