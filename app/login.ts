import type { RequestHandler } from 'express';
import * as client from 'openid-client';
import type { AppConfig } from './config.js';
import type { IdpClient } from './idp-client.js';
import { TRANSACTION_TTL_MS, type TransactionCookie } from './transaction.js';
import { IdpUnavailableError } from './errors.js';

/** Only same-origin relative paths: anything else (absolute, `//host`, `/\host`) would be an open redirect. */
export function safeReturnTo(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/';
  try {
    const base = 'http://return-to.invalid';
    const url = new URL(value, base);
    return url.origin === base ? url.pathname + url.search + url.hash : '/';
  } catch {
    return '/';
  }
}

export function redirectUri(config: AppConfig): string {
  return new URL('/signin-oidc', config.baseUrl).href;
}

export function login(config: AppConfig, idp: IdpClient, transactions: TransactionCookie, now: () => number): RequestHandler {
  return async (req, res) => {
    const configuration = await idp.configuration().catch((cause: unknown) => {
      throw new IdpUnavailableError('the identity provider cannot be reached', { cause });
    });
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
