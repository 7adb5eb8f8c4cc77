import { parse } from 'cookie';
import cookieSession from 'cookie-session';
import type { Request, Response } from 'express';
import type { CookieMode } from './config.js';
import type { Sealer } from '../common/sealed.js';
import { type AuthSession, isAuthSession } from './session.js';

/**
 * The auth cookie: cookie-session writes it (attributes, per-request expiry), our sealer makes it secret.
 * cookie-session only signs, so its signature is switched off: the AEAD tag already authenticates.
 */
export interface TokenCookie {
  /** What the request carries, or what this request already wrote. */
  read(req: Request): AuthSession | undefined;
  /** Whether the request carries the cookie at all (valid or not). */
  sent(req: Request): boolean;
  write(req: Request, res: Response, session: AuthSession): void;
  clear(req: Request, res: Response): void;
}

export interface TokenCookieOptions {
  /** https: `Secure` and the `__Host-` prefix. */
  secure: boolean;
  mode: CookieMode;
  sealer: Sealer;
  /** How many recently opened cookies to remember (0: none). */
  cacheEntries: number;
  name?: string;
}

/** Browsers silently drop a larger cookie, which would look like a random logout: refuse to write one instead. */
export const MAX_COOKIE_BYTES = 4096;

export class CookieTooLargeError extends Error {
  override name = 'CookieTooLargeError';
}

export function tokenCookieName(secure: boolean, name = 'auth'): string {
  return secure ? `__Host-${name}` : name;
}

/** cookie-session's format: base64 of the JSON session, here `{ t: <sealed> }`. */
function sealedValue(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const { t } = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { t?: unknown };
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

export function createTokenCookie({ secure, mode, sealer, cacheEntries, name = 'auth' }: TokenCookieOptions): TokenCookie {
  const cookieName = tokenCookieName(secure, name);
  const writer = cookieSession({ name: cookieName, signed: false, httpOnly: true, sameSite: 'lax', secure, path: '/' });
  const written = new WeakMap<Request, AuthSession | null>();
  // A cookie value never changes meaning, so opening it is memoised: a browser sends the same cookie until the next renewal.
  // Bounded, oldest out first; expiry and logout are still checked on every request by the middleware.
  const opened = new Map<string, AuthSession>();
  // cookie-session joins a request only when it has something to write: on the hot path (a valid cookie, no renewal) it costs nothing.
  const session = (req: Request, res: Response) => {
    if (!written.has(req)) writer(req, res, () => {});
    return req;
  };
  const raw = (req: Request) => (req.headers.cookie?.includes(cookieName) ? parse(req.headers.cookie)[cookieName] : undefined);
  return {
    read(req) {
      if (written.has(req)) return written.get(req) ?? undefined;
      const value = raw(req);
      if (value === undefined) return undefined;
      const known = opened.get(value);
      if (known) return known;
      const sealed = sealedValue(value);
      const candidate = sealed === undefined ? undefined : sealer.open(sealed);
      if (!isAuthSession(candidate)) return undefined;
      if (cacheEntries > 0) {
        if (opened.size >= cacheEntries) opened.delete(opened.keys().next().value!);
        opened.set(value, candidate);
      }
      return candidate;
    },
    sent: (req) => raw(req) !== undefined,
    write(req, res, value) {
      const sealed = sealer.seal(value);
      // name=base64(JSON {"t":"…"}) plus attributes of about 100 bytes.
      const bytes = cookieName.length + 1 + Math.ceil((sealed.length + 8) / 3) * 4 + 100;
      if (bytes > MAX_COOKIE_BYTES) throw new CookieTooLargeError(`the auth cookie would be ${bytes} bytes: the IdP's tokens are too large for a cookie`);
      session(req, res).session = { t: sealed };
      if (mode === 'persistent') req.sessionOptions.expires = new Date(value.expiresAt);
      written.set(req, value);
    },
    clear(req, res) {
      session(req, res).session = null;
      written.set(req, null);
    },
  };
}
