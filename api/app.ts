import express, { type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import { callerView } from '../common/errors.js';
import { type Logger, createLogger } from '../common/log.js';
import { requireBearer } from './bearer.js';
import type { ApiConfig } from './config.js';
import { idpConfiguration } from './validation/idp.js';
import { introspectionValidator } from './validation/introspection.js';
import { jwtValidator } from './validation/jwt.js';

export interface ApiDeps {
  /** The clock for expiry and the introspection cache (epoch ms); tests move it. */
  now?: () => number;
  logger?: Logger;
  /** Replaces fetch for every call to the IdP. */
  fetch?: typeof fetch;
}

/** The resource server: one small protected resource, validated by introspection or locally as a JWT. */
export function createApi(config: ApiConfig, deps: ApiDeps = {}): express.Express {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger('api', config.logLevel);
  const fetchFn = deps.fetch ?? fetch;
  const idp = idpConfiguration(config, fetchFn);
  const validate = config.validation === 'jwt' ? jwtValidator(config, idp, now, fetchFn) : introspectionValidator(config, idp, now);

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(helmet());
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/api/profile', requireBearer(validate, config.requiredScope, logger), (_req, res) => {
    const { sub, clientId, scope, exp, claims } = res.locals.token!;
    res.set('Cache-Control', 'no-store').json({ sub, role: claims.role, client_id: clientId, scope: scope.join(' '), exp, validated_by: config.validation });
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  const jsonError: ErrorRequestHandler = (error, _req, res, _next) => {
    const { status, code, message } = callerView(error);
    if (status >= 500) logger.error('unhandled error', { error });
    res.status(status).json({ error: code, ...(message ? { error_description: message } : {}) });
  };
  app.use(jsonError);
  return app;
}
