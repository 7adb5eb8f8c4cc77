import type { RequestHandler } from 'express';
import * as client from 'openid-client';
import type { Logger } from '../../common/log.js';
import type { AppConfig } from '../config.js';
import type { CookieLifetimes } from '../cookie/lifetime.js';
import { IdpUnavailableError, SignInError, TokensTooLargeError } from '../errors.js';
import { type IdpClient, idpError, idpFailure } from '../idp-client.js';
import { sessionFromTokens } from '../session.js';
import type { TokenCookie } from '../cookie/auth-cookie.js';
import type { TransactionCookie } from '../cookie/transaction.js';

/** GET /signin-oidc: checks state, nonce, PKCE and the id token, then signs the visitor in. */
export function callback(
  config: AppConfig,
  idp: IdpClient,
  transactions: TransactionCookie,
  cookie: TokenCookie,
  lifetimes: CookieLifetimes,
  now: () => number,
  logger: Logger,
): RequestHandler {
  return async (req, res) => {
    const transaction = transactions.read(req, now());
    transactions.clear(res);
    if (!transaction) throw new SignInError('This sign-in has expired or was already completed. Please sign in again.');
    if (typeof req.query.error === 'string') {
      logger.warn('sign-in refused by the identity provider', { error: req.query.error, error_description: req.query.error_description });
      throw new SignInError(`The identity provider did not sign you in (${req.query.error.slice(0, 64)}).`);
    }
    const configuration = await idp.configuration();
    try {
      const sentAt = now();
      const tokens = await client.authorizationCodeGrant(configuration, new URL(req.originalUrl, config.baseUrl), {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      const session = sessionFromTokens(tokens, sentAt);
      cookie.write(req, res, session);
      lifetimes.observe(session);
    } catch (thrown) {
      const error = idpError(thrown);
      if (error instanceof TokensTooLargeError) {
        logger.warn('sign-in failed: tokens too large for the auth cookie', error.sizes);
        throw error;
      }
      logger.warn('sign-in failed', idpFailure(error));
      if (error instanceof IdpUnavailableError) throw error;
      throw new SignInError('The sign-in could not be completed. Please sign in again.', { cause: error });
    }
    res.redirect(transaction.returnTo);
  };
}
