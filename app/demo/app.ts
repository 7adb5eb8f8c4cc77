import express, { type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../common/log.js';
import { type AppConfig, type BffDeps, PageError, callerView, createBffAuth, requireAuth } from '../lib.js';
import { about, home } from './pages.js';

export type AppDeps = BffDeps;

export interface BffApp {
  app: express.Express;
  close(): Promise<void>;
}

const VIEWS = fileURLToPath(new URL('../../views/app', import.meta.url));
const PUBLIC = fileURLToPath(new URL('../../public', import.meta.url));

/** The demo MVC app: the BFF router plus a public home page and the protected About page. */
export async function createApp(config: AppConfig, deps: AppDeps = {}): Promise<BffApp> {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger('app', config.logLevel);
  const secure = config.baseUrl.protocol === 'https:';
  const bff = await createBffAuth(config, { ...deps, now, logger });

  const app = express();
  app.disable('x-powered-by');
  // TRUST_PROXY: the hops whose X-Forwarded-* this app believes (a TLS terminator on this host by default).
  app.set('trust proxy', config.trustProxy);
  app.set('views', VIEWS);
  app.set('view engine', 'ejs');
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { 'form-action': ["'self'", config.issuer.origin], 'style-src': ["'self'"], 'upgrade-insecure-requests': secure ? [] : null },
      },
      // `no-referrer` would make Chrome send `Origin: null` on our own form posts, failing the logout CSRF check.
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Static assets before the auth middleware: they need no session work.
  app.use('/static', express.static(PUBLIC, { maxAge: '1h' }));
  app.use(bff.router);
  app.get('/', home);
  app.get('/about', requireAuth, about(config, now));
  app.use((_req, res) => {
    res.status(404).render('error', { heading: 'Not found', message: 'There is no page at this address.' });
  });
  const renderError: ErrorRequestHandler = (error, _req, res, _next) => {
    const { status, message } = callerView(error);
    if (status >= 500 && message === undefined) logger.error('unhandled error', { error });
    const heading = error instanceof PageError ? error.heading : 'Something went wrong';
    res.status(status).render('error', { heading, message: message ?? (status >= 500 ? 'Please try again.' : 'The request could not be understood.') });
  };
  app.use(renderError);

  return { app, close: bff.close };
}
