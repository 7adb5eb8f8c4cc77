import type { RequestHandler, Response } from 'express';
import type { Logger } from '../common/log.js';
import { InvalidTokenError, type TokenInfo, type ValidateToken, ValidationUnavailableError } from './token.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
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

export function requireBearer(validate: ValidateToken, requiredScope: string, logger: Logger): RequestHandler {
  return async (req, res, next) => {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(req.get('authorization') ?? '');
    if (!match) return challenge(res, 401);
    try {
      const token = await validate(match[1]!);
      if (!token.scope.includes(requiredScope)) return challenge(res, 403, 'insufficient_scope', `the ${requiredScope} scope is required`, requiredScope);
      res.locals.token = token;
      next();
    } catch (error) {
      if (error instanceof InvalidTokenError) return challenge(res, 401, 'invalid_token', 'the access token is invalid, revoked or expired');
      if (error instanceof ValidationUnavailableError) {
        logger.warn('token validation unavailable', { error });
        return res.status(503).set('Retry-After', '1').json({ error: 'temporarily_unavailable', error_description: 'the token cannot be validated right now' });
      }
      next(error);
    }
  };
}
