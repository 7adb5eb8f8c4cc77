import type { RequestHandler } from 'express';
import * as client from 'openid-client';
import type { AppConfig } from '../config.js';
import type { IdpClient } from '../idp-client.js';
import { TRANSACTION_TTL_MS, type TransactionCookie } from '../cookie/transaction.js';

const RETURN_BASE = 'http://return-to.invalid';

/** A path that a browser resolves to our own origin; the raw value can look innocent and normalise into `//host`. */
const staysHere = (path: string) => path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') && new URL(path, RETURN_BASE).origin === RETURN_BASE;

/** Only same-origin paths, judged on the value that will be sent in `Location`, not on what was received. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) return '/';
  try {
    const url = new URL(value, RETURN_BASE);
    const path = url.pathname + url.search + url.hash;
    return url.origin === RETURN_BASE && staysHere(path) ? path : '/';
  } catch {
    return '/';
  }
}

export function redirectUri(config: AppConfig): string {
  return new URL('/signin-oidc', config.baseUrl).href;
}

export function login(config: AppConfig, idp: IdpClient, transactions: TransactionCookie, now: () => number): RequestHandler {
  return async (req, res) => {
    const configuration = await idp.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    transactions.write(res, { codeVerifier, state, nonce, returnTo: safeReturnTo(req.query.returnTo), expiresAt: now() + TRANSACTION_TTL_MS });
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri(config),
      scope: config.scope,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    res.redirect(url.href);
  };
}
