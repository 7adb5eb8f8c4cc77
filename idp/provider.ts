import Provider, { type AdapterFactory, type Configuration, type JWKS, type KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../common/log.js';
import type { AccountStore } from './accounts.js';
import { CLIENT_AUTH_METHODS, type RefreshPolicy } from './clients.js';
import type { IdpConfig } from './config.js';
import { keepOfflineAccess, loadExistingGrant } from './consent.js';
import { DEFAULT_SIGNING_ALG, SIGNING_ALGS } from './keys.js';
import { resourceIndicators, withResourceScopes } from './resource-indicators.js';
import { renderView } from './views.js';

export interface ProviderDeps {
  adapter: AdapterFactory;
  jwks: JWKS;
  accounts: AccountStore;
  logger: Logger;
  /** Each client's refresh-token lifetime and rotation (clients.ts). */
  refreshPolicy: (clientId: string) => RefreshPolicy;
}

/** Login pages expire quickly: an abandoned sign-in leaves nothing usable behind. */
const INTERACTION_TTL = 10 * 60;
const AUTHORIZATION_CODE_TTL = 60;

/**
 * Claims by scope. `role` rides with `profile` so the app's usual `openid profile email` request carries it,
 * and the API's `profile` requirement covers it, with no extra scope to configure.
 */
export const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'role'],
  email: ['email', 'email_verified'],
};

/** Why oidc-provider revoked a grant, by the endpoint that did it. */
const REVOCATION_REASONS: Record<string, string> = {
  token: 'refresh token reused outside the grace window',
  revocation: 'revoked by its client',
  end_session_confirm: 'signed out at the IdP',
  end_session: 'signed out at the IdP',
};

const epochSeconds = () => Math.floor(Date.now() / 1000);

export function createProvider(config: IdpConfig, { adapter, jwks, accounts, logger, refreshPolicy }: ProviderDeps): Provider {
  const cap = config.ttl.session;
  // What is left of the absolute cap counted from `since`; at least 1 s, as oidc-provider requires.
  const remainingOfCap = (since: number) => Math.max(1, since + cap - epochSeconds());

  const configuration: Configuration = {
    adapter,
    clients: config.clients,
    clientDefaults: { id_token_signed_response_alg: DEFAULT_SIGNING_ALG },
    // What the key set holds, so discovery advertises only algorithms the IdP can sign with.
    enabledJWA: { idTokenSigningAlgValues: [...SIGNING_ALGS] },
    // The code flow only: no implicit or hybrid responses, no unauthenticated clients.
    responseTypes: ['code'],
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    jwks,
    cookies: { keys: config.cookieKeys },
    findAccount: accounts.findAccount,
    claims: CLAIMS,
    // Profile claims go into the id token too: the app shows them without a UserInfo call per refresh.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    loadExistingGrant: withResourceScopes(loadExistingGrant),
    // Runs after oidc-provider's own scope checks (extraParams validators always run, whatever the parameter's value).
    extraParams: { scope: keepOfflineAccess },
    // `role` reaches the API (introspection answer or JWT) read from the account store at every grant, so an edit shows at the next refresh.
    extraTokenClaims: async (ctx, token) => {
      const claims = token.scopes.has('profile') ? await ctx.oidc.account?.claims('userinfo', token.scope ?? '', {}, []) : undefined;
      return claims?.role === undefined ? undefined : { role: claims.role };
    },
    // Any client allowed the grant gets refresh tokens, offline_access or not. Without offline_access they are bound to
    // the IdP session (oidc-provider's default): signing out there, or the session's end, ends them.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Per client (x_refresh), rotating by default: a refresh token works once, and a reused one revokes the whole grant.
    rotateRefreshToken: (ctx) => refreshPolicy(ctx.oidc.client!.clientId).rotate,
    ttl: {
      AccessToken: config.ttl.accessToken,
      IdToken: config.ttl.idToken,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      // The client's lifetime, sliding from each rotation, but never past the cap counted from the first refresh token of the chain.
      RefreshToken: (_ctx, token, client) => Math.min(refreshPolicy(client.clientId).ttlS, remainingOfCap(token.iiat ?? epochSeconds())),
      Grant: cap,
      Session: (_ctx, session) => remainingOfCap(session.loginTs ?? epochSeconds()),
      Interaction: INTERACTION_TTL,
    },
    // Our clients are server-side: no browser calls the IdP's endpoints cross-origin.
    clientBasedCORS: () => false,
    fetch: fetchAllowing(backchannelUris(config)),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: resourceIndicators(config),
      revocation: {
        enabled: true,
        // Only the client a token was issued to may revoke it.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      introspection: {
        enabled: true,
        // Resource servers (the `api` client) introspect other clients' access tokens; a refresh token only its own client
        // may (no resource server is ever sent one); unauthenticated callers never do.
        allowedPolicy: async (_ctx, client, token) => client.clientAuthMethod !== 'none' && (token.kind !== 'RefreshToken' || token.clientId === client.clientId),
      },
      // Ending a session here tells each client's back channel, so the app's cookie dies now, not at its next refresh.
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => html(ctx, await renderView('logout', { host: ctx.host, form })),
        postLogoutSuccessSource: async (ctx) => {
          const client = ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
          html(ctx, await renderView('message', { heading: 'Signed out', message: client ? `You are signed out of ${client}.` : 'You are signed out.' }));
        },
      },
    },
    renderError: async (ctx, out) => {
      const heading = ctx.oidc?.route?.startsWith('end_session') ? 'Sign-out problem' : 'Sign-in problem';
      html(ctx, await renderView('message', { heading, message: out.error_description ?? out.error, tone: 'error' }));
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.on('server_error', (_ctx, error) => logger.error('oidc-provider server error', { error }));
  provider.on('grant.error', (ctx, error) =>
    logger.info('token request refused', { client: ctx.oidc.client?.clientId, error: error.error, reason: error.error_description, detail: (error as { error_detail?: string }).error_detail }),
  );
  provider.on('grant.revoked', (ctx, grantId) => logger.warn('grant revoked', { grantId, client: ctx.oidc.client?.clientId, reason: REVOCATION_REASONS[ctx.oidc.route] ?? ctx.oidc.route }));
  provider.on('backchannel.error', (_ctx, error, client) => logger.warn('back-channel logout failed', { client: client.clientId, error }));
  return provider;
}

function backchannelUris(config: IdpConfig): Set<string> {
  return new Set(config.clients.flatMap((client) => (client.backchannel_logout_uri ? [new URL(client.backchannel_logout_uri).href] : [])));
}

/**
 * oidc-provider's outgoing calls refuse private and loopback addresses (an SSRF guard). Back-channel logout URIs come
 * from the operator's client list (built in or IDP_CLIENTS_FILE), not from a registration request, and often live on
 * such an address: those are let through.
 */
function fetchAllowing(uris: Set<string>): Configuration['fetch'] {
  return (url, init) => {
    if (!uris.has(String(url))) return fetch(url, init);
    const { dispatcher: _guard, ...unguarded } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
    return fetch(url, unguarded);
  };
}

// oidc-provider's default pages carry inline styles and scripts, which our CSP refuses.
function html(ctx: KoaContextWithOIDC, body: string) {
  ctx.type = 'html';
  ctx.body = body;
}
