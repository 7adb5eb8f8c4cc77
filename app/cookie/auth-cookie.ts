import { parse, serialize } from 'cookie';
import type { Request, Response } from 'express';
import { LRUCache } from 'lru-cache';
import type { CookieMode } from '../config.js';
import type { Sealer } from '../../common/sealed.js';
import { chunkIndex, chunkName, joinValue, splitValue } from './chunks.js';
import { openSession, sealSession } from './payload.js';
import { TokensTooLargeError } from '../errors.js';
import type { AuthSession } from '../session.js';

/**
 * The auth cookie: the sealed session as one base64url value, in one cookie or chunks of one (chunks.ts).
 * Persistent mode sends Max-Age as well as Expires: a browser whose clock runs ahead of ours would drop an Expires-only cookie early.
 */
export interface TokenCookie {
  /** What the request carries, or what this request already wrote. */
  read(req: Request): AuthSession | undefined;
  /** Whether the request carries the cookie, or any chunk of it, at all (valid or not). */
  sent(req: Request): boolean;
  /** Throws TokensTooLargeError, writing nothing, when the chunks together would exceed `maxBytes`. */
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
  /** The app's clock: Max-Age counts from it to the session's expiresAt. */
  now: () => number;
  /** Ceiling on the chunks' `name=value` pairs together, as the browser sends them back. */
  maxBytes: number;
  name?: string;
}

/** Browsers keep a cookie only if its whole Set-Cookie line, attributes included, is under this (RFC 6265 §6.1, the strict reading). */
export const MAX_COOKIE_BYTES = 4096;

export function tokenCookieName(secure: boolean, name = 'auth'): string {
  return secure ? `__Host-${name}` : name;
}

/** Values are base64url, digits and dots: written as they are. */
const verbatim = (value: string) => value;

export function createTokenCookie({ secure, mode, sealer, cacheEntries, now, maxBytes, name = 'auth' }: TokenCookieOptions): TokenCookie {
  const cookieName = tokenCookieName(secure, name);
  const attributes = { httpOnly: true, sameSite: 'lax', secure, path: '/', encode: verbatim } as const;
  const isOurs = (line: string) => line.startsWith(`${cookieName}=`) || chunkIndex(line.slice(0, line.indexOf('=')), cookieName) !== undefined;
  const written = new WeakMap<Request, AuthSession | null>();
  // A cookie value never changes meaning, so opening it is memoised: a browser sends the same cookie until the next renewal.
  // Found by the value's head (key id and the seal's random IV), then compared whole, every chunk included: hashing a
  // 12 KB value as the key would cost ~20 µs a request. Bounded, least recently used out first; expiry and logout are still checked
  // on every request by the middleware.
  const opened = cacheEntries > 0 ? new LRUCache<string, { value: string; session: AuthSession }>({ max: cacheEntries }) : undefined;
  const memoKey = (value: string) => value.slice(0, 40);
  // A keep-alive connection from one browser sends the same Cookie header request after request: the last header on a
  // connection that opened to a session is kept with it, so a repeat costs a string comparison, not a parse and a lookup.
  // At most one header per open connection, of at most maxBytes, dropped when a response rewrites or clears the cookie.
  const lastOn = cacheEntries > 0 ? new WeakMap<object, { header: string; session: AuthSession }>() : undefined;
  const cookies = (req: Request) => (req.headers.cookie?.includes(cookieName) ? parse(req.headers.cookie) : {});
  /** The chunk cookies (`auth.1`, …) the browser holds, to delete those a new value no longer uses. */
  const chunksSent = (req: Request) => Object.keys(cookies(req)).filter((other) => chunkIndex(other, cookieName) !== undefined);

  const open = (req: Request): AuthSession | undefined => {
    const all = cookies(req);
    const first = all[cookieName];
    const value = first ? joinValue(first, (index) => all[chunkName(cookieName, index)]) : undefined;
    if (value === undefined) return undefined;
    const known = opened?.get(memoKey(value));
    if (known?.value === value) return known.session;
    const session = openSession(sealer, value);
    if (session) opened?.set(memoKey(value), { value, session });
    return session;
  };

  /** What this response now holds, for the rest of the request; the connection's memo no longer describes the browser's cookie. */
  const wrote = (req: Request, session: AuthSession | null) => {
    written.set(req, session);
    if (req.socket) lastOn?.delete(req.socket);
  };

  /** Our cookies' lines in the response are replaced as a set (a renewal, then a logout): other cookies stay. */
  const putLines = (res: Response, lines: string[]) => {
    const present = res.getHeader('Set-Cookie');
    const others = (present === undefined ? [] : Array.isArray(present) ? present : [String(present)]).filter((line) => !isOurs(line));
    res.setHeader('Set-Cookie', [...others, ...lines]);
  };
  const lifetime = (session: AuthSession) =>
    mode === 'persistent' ? { expires: new Date(session.expiresAt), maxAge: Math.max(0, Math.floor((session.expiresAt - now()) / 1000)) } : {};
  const expired = { ...attributes, maxAge: 0, expires: new Date(0) };

  return {
    read(req) {
      if (written.has(req)) return written.get(req) ?? undefined;
      const { socket, headers } = req;
      const last = socket && lastOn?.get(socket);
      if (last && last.header === headers.cookie) return last.session;
      const session = open(req);
      if (socket && session && headers.cookie !== undefined && headers.cookie.length <= maxBytes) lastOn?.set(socket, { header: headers.cookie, session });
      return session;
    },
    sent: (req) => Object.keys(cookies(req)).some((other) => other === cookieName || chunkIndex(other, cookieName) !== undefined),
    write(req, res, session) {
      const options = { ...attributes, ...lifetime(session) };
      // Room for a value on a line: the chunks' room is sized for a two-digit index and count, far more chunks than maxBytes allows.
      const room = (chunk: string, value: string) => MAX_COOKIE_BYTES - 1 - Buffer.byteLength(serialize(chunk, value, options));
      const sealed = sealSession(sealer, session);
      const values = splitValue(sealed, room(cookieName, ''), room(chunkName(cookieName, 99), '99.'));
      const bytes = values.map((value, index) => `${chunkName(cookieName, index)}=${value}`).join('; ').length;
      if (bytes > maxBytes) {
        throw new TokensTooLargeError({
          bytes,
          maxBytes,
          idBytes: session.idToken.length,
          accessBytes: session.accessToken.length,
          refreshBytes: session.refreshToken?.length ?? 0,
        });
      }
      const leftovers = chunksSent(req).filter((other) => chunkIndex(other, cookieName)! >= values.length);
      putLines(res, [
        ...values.map((value, index) => serialize(chunkName(cookieName, index), value, options)),
        ...leftovers.map((other) => serialize(other, '', expired)),
      ]);
      wrote(req, session);
    },
    clear(req, res) {
      putLines(res, [cookieName, ...chunksSent(req)].map((other) => serialize(other, '', expired)));
      wrote(req, null);
    },
  };
}
