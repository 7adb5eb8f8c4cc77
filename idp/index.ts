import express from 'express';
import helmet from 'helmet';
import type { ClientMetadata } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { type Logger, createLogger } from '../common/log.js';
import { createAccountStore } from './accounts.js';
import type { IdpConfig } from './config.js';
import { loadSigningKeys } from './keys.js';
import { interactionRoutes } from './login.js';
import { createProvider } from './provider.js';
import { enableRefreshGrace } from './refresh-grace.js';
import { createLoginThrottle } from './throttle.js';
import { createAdapterFactory } from './store/adapter.js';
import type { StoreBackend } from './store/backend.js';
import { openStore } from './store/open.js';
import { STATIC_DIR } from './views.js';

export interface Idp {
  app: express.Express;
  provider: Provider;
  /** The token store, for operator tools. */
  store: StoreBackend;
  /** Releases the token store; the caller owns the HTTP server. */
  close(): Promise<void>;
}

export interface IdpDeps {
  logger?: Logger;
  /** The clock (epoch ms) of the login throttle, the token store and the reuse grace window; tests move it. */
  now?: () => number;
}

/** The IdP as an Express app (login pages, health, static files) with oidc-provider mounted last. It does not listen. */
export async function createIdp(config: IdpConfig, deps: IdpDeps = {}): Promise<Idp> {
  const logger = deps.logger ?? createLogger('idp', config.logLevel);
  const accounts = createAccountStore(config.accountsFile);
  const jwks = await loadSigningKeys(config.dataDir, config.jwks);
  const store = await openStore(config);
  const grace = config.refreshReuseGraceS > 0;
  const adapter = createAdapterFactory(store, { now: deps.now, logger, onRace: grace ? 'wait' : 'revoke' });
  const provider = createProvider(config, { adapter, jwks, accounts, logger });
  enableRefreshGrace(provider, { graceS: config.refreshReuseGraceS, store, logger, now: deps.now });

  const app = express();
  app.disable('x-powered-by');
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(config.clients) } }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use('/static', express.static(STATIC_DIR, { maxAge: '1h' }));
  app.use(interactionRoutes(provider, accounts, createLoginThrottle(deps.now), logger));
  app.use(provider.callback());
  return { app, provider, store, close: () => store.close() };
}

/**
 * No scripts at all. `form-action` lists the clients' origins because Chrome applies it to the redirects that
 * follow a form POST: the login form ends on the app's redirect_uri, the logout form on its post-logout URI.
 */
function cspDirectives(clients: ClientMetadata[]) {
  const targets = clients.flatMap((client) => [...(client.redirect_uris ?? []), ...(client.post_logout_redirect_uris ?? [])]);
  const origins = [...new Set(targets.map((uri) => new URL(uri).origin))];
  return {
    'default-src': ["'none'"],
    'style-src': ["'self'"],
    'img-src': ["'self'"],
    'form-action': ["'self'", ...origins],
    'frame-ancestors': ["'none'"],
    'base-uri': ["'none'"],
  };
}
