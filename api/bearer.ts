import type { RequestHandler, Response } from 'express';
import type { Logger } from '../common/log.js';
import { InvalidTokenError, type TokenInfo, type ValidateToken, ValidationUnavailableError } from './validation/token.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own types extend Request through this namespace
  namespace Express {
    interface Locals {
      token?: TokenInfo;
    }
  }
}

const REALM = 'api';

/** RFC 6750 §3: a bare challenge when no token was sent, `error=` when one was sent and failed. */
function challenge(res: Response, status: 401 | 403, error?: 'invalid_token' | 'insufficient_scope', description?: string, scope?: string) {
  const params = [`realm="${REALM}"`];
  if (error) params.push(`error="${error}"`);
  if (description) params.push(`error_description="${description}"`);
  if (scope) params.push(`scope="${scope}"`);
  res.set('WWW-Authenticate', `Bearer ${params.join(', ')}`);
  res.status(status).json({ error: error ?? 'unauthorized', error_description: description ?? 'a bearer access token is required' });
}

/** Every refusal is logged with its reason (the client only learns `invalid_token`): why a peer's tokens fail shows here. */
export function requireBearer(validate: ValidateToken, requiredScope: string, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const refused = (status: 401 | 403, reason: string, fields: Record<string, unknown> = {}) =>
      logger.info('request refused', { status, reason, method: req.method, path: req.path, ...fields });
    const header = req.get('authorization');
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(header ?? '');
    if (!match) {
      refused(401, header ? 'the Authorization header is not a bearer token' : 'no Authorization header');
      return challenge(res, 401);
    }
    try {
      const token = await validate(match[1]!);
      if (!token.scope.includes(requiredScope)) {
        refused(403, `the ${requiredScope} scope is missing`, { sub: token.sub, client: token.clientId, scope: token.scope.join(' ') });
        return challenge(res, 403, 'insufficient_scope', `the ${requiredScope} scope is required`, requiredScope);
      }
      res.locals.token = token;
      next();
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        refused(401, error.message, { cause: error.cause });
        return challenge(res, 401, 'invalid_token', 'the access token is invalid, revoked or expired');
      }
      if (error instanceof ValidationUnavailableError) {
        logger.warn('token validation unavailable', { error });
        return res.status(error.status).set('Retry-After', '1').json({ error: error.code, error_description: 'the token cannot be validated right now' });
      }
      next(error);
    }
  };
}
