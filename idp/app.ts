import express from 'express';
import helmet from 'helmet';
import type { ClientMetadata } from 'oidc-provider';
import type Provider from 'oidc-provider';
import { type Logger, createLogger } from '../common/log.js';
import { isLoopback } from '../common/env.js';
import { DEFAULT_ACCOUNTS, createAccountStore } from './accounts.js';
import { requireRegisteredAuthMethod } from './client-auth.js';
import { refreshPolicies, validateClients } from './clients.js';
import type { IdpConfig } from './config.js';
import { forwardedAsTrusted } from './forwarded.js';
import { loadSigningKeys } from './keys.js';
import { interactionRoutes } from './login.js';
import { createProvider } from './provider.js';
import { enableRefreshGrace } from './grants/refresh-grace.js';
import { readableSignOut } from './signed-out.js';
import { DEFAULT_THROTTLE, type ThrottlePolicies, createThrottles } from './throttle.js';
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
  /** The clock (epoch ms) of the token store and the reuse grace window; tests move it. */
  now?: () => number;
  /** Replaces the throttle limits (DEFAULT_THROTTLE); rate-limiter-flexible counts real time, so tests shorten the windows. */
  throttle?: Partial<ThrottlePolicies>;
}

/** The IdP as an Express app (login pages, health, static files) with oidc-provider mounted last. It does not listen. */
export async function createIdp(config: IdpConfig, deps: IdpDeps = {}): Promise<Idp> {
  const logger = deps.logger ?? createLogger('idp', config.logLevel);
  // bob / secret is in this repository: only the demo on loopback has him.
  const accounts = createAccountStore(config.accountsFile, isLoopback(new URL(config.issuer)) ? DEFAULT_ACCOUNTS : []);
  const jwks = await loadSigningKeys(config.dataDir, config.jwks);
  const store = await openStore(config, { logger });
  const refreshPolicy = refreshPolicies(config);
  // With a grace window anywhere, a race's loser waits for the winner's answer (one of a client without a window is refused,
  // its grant kept); with none, the race revokes the grant as a reuse would.
  const grace = config.clients.some((client) => refreshPolicy(client.client_id).reuseGraceS > 0);
  const adapter = createAdapterFactory(store, { now: deps.now, logger, onRace: grace ? 'wait' : 'revoke' });
  const provider = createProvider(config, { adapter, jwks, accounts, logger, refreshPolicy });
  await validateClients(provider, config.clients).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  enableRefreshGrace(provider, { graceFor: (clientId) => refreshPolicy(clientId).reuseGraceS, store, logger, now: deps.now });

  requireRegisteredAuthMethod(provider);
  readableSignOut(provider);
  // Koa reads the forwarded headers as rewritten by forwardedAsTrusted, Express's judgement of TRUST_PROXY.
  provider.proxy = true;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(forwardedAsTrusted);
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives: cspDirectives(config.clients) } }));
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use('/static', express.static(STATIC_DIR, { maxAge: '1h' }));
  const throttles = await createThrottles(config, { ...DEFAULT_THROTTLE, ...deps.throttle }, logger).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  app.use(interactionRoutes(provider, accounts, throttles.login, logger));
  // Every authorization request may store an interaction: bounded per address before oidc-provider sees it.
  app.use('/auth', throttles.authorization);
  app.use(provider.callback());
  return {
    app,
    provider,
    store,
    async close() {
      throttles.close();
      await store.close();
    },
  };
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
