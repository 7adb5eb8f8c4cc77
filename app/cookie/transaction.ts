import { parse, serialize } from 'cookie';
import type { Request, Response } from 'express';
import type { Sealer } from '../../common/sealed.js';
import { tokenCookieName } from './auth-cookie.js';

/** What the callback needs to finish what /login started; lives sealed in a short-lived cookie. */
export interface Transaction {
  codeVerifier: string;
  state: string;
  nonce: string;
  returnTo: string;
  expiresAt: number;
}

export const TRANSACTION_TTL_MS = 10 * 60 * 1000;

export interface TransactionCookie {
  write(res: Response, transaction: Transaction): void;
  /** undefined when missing, tampered or expired. */
  read(req: Request, now: number): Transaction | undefined;
  clear(res: Response): void;
}

export function createTransactionCookie(secure: boolean, sealer: Sealer): TransactionCookie {
  const name = tokenCookieName(secure, 'auth.tx');
  const attributes = { httpOnly: true, sameSite: 'lax', secure, path: '/' } as const;
  return {
    write(res, transaction) {
      res.append('Set-Cookie', serialize(name, sealer.seal(transaction), { ...attributes, expires: new Date(transaction.expiresAt) }));
    },
    read(req, now) {
      const sealed = parse(req.headers.cookie ?? '')[name];
      const transaction = sealed ? (sealer.open(sealed) as Transaction | undefined) : undefined;
      return transaction && typeof transaction.state === 'string' && transaction.expiresAt > now ? transaction : undefined;
    },
    clear(res) {
      res.append('Set-Cookie', serialize(name, '', { ...attributes, expires: new Date(0) }));
    },
  };
}
