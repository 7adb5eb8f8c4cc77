import type { RequestHandler } from 'express';
import type { Logger } from '../common/log.js';
import type { AppConfig } from './config.js';
import { InsecureRequestError } from './errors.js';

/**
 * Before /login and /signin-oidc: with an https APP_BASE_URL the auth cookies are `Secure` `__Host-` ones, which a
 * browser keeps only from a secure request. A request the app sees as http (no TLS proxy, or one outside TRUST_PROXY,
 * whose X-Forwarded-Proto is then ignored) would sign in, lose the cookie and start again: say why instead.
 */
export function requireSecureRequest(config: AppConfig, logger: Logger): RequestHandler {
  const secure = config.baseUrl.protocol === 'https:';
  return (req, _res, next) => {
    if (!secure || req.secure) return next();
    logger.warn('APP_BASE_URL is https but this request is not secure: set TRUST_PROXY to the TLS-terminating proxy in front of the app (which must send X-Forwarded-Proto: https), or serve https', {
      path: req.path,
      from: req.socket.remoteAddress,
      forwardedProto: req.get('x-forwarded-proto'),
    });
    throw new InsecureRequestError("This site signs you in over a secure connection only, and this request did not reach it as one. Please tell the site's administrator: the server log says what to change.");
  };
}
