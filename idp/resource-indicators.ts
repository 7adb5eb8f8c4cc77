/** The API as an RFC 8707 resource: what its access tokens look like, and which scopes they carry. */
import { type Configuration, type Grant, type KoaContextWithOIDC, errors } from 'oidc-provider';
import { DEMO_URLS } from '../common/env.js';
import type { IdpConfig } from './config.js';

/** The API's scopes: the BFF's OIDC scopes minus `openid` and `offline_access`, which mean nothing to the API. */
export const API_SCOPE = 'profile email';

type ResourceIndicators = NonNullable<NonNullable<Configuration['features']>['resourceIndicators']>;
type LoadExistingGrant = (ctx: KoaContextWithOIDC) => Promise<Grant | undefined>;

/** The BFF (built-in client, idp/config.ts) calls the API with its access token. */
const API_CALLERS = new Set(['mvc']);

/**
 * The BFF's tokens default to the API resource in both formats, so they carry the API's `aud` (in the JWT, or in the
 * introspection answer) and UserInfo refuses them (oidc-provider: a token with an audience is not for UserInfo).
 * Another client's token is bound to the API only when it asks (`resource`); unbound, it is for UserInfo only.
 */
export function resourceIndicators(config: Pick<IdpConfig, 'apiResource' | 'accessTokenFormat'>): ResourceIndicators {
  const resource = new URL(config.apiResource ?? DEMO_URLS.api).href;
  const format = config.accessTokenFormat ?? 'opaque';
  return {
    enabled: true,
    defaultResource: async (_ctx, client, oneOf) => (oneOf ? oneOf[0] : API_CALLERS.has(client.clientId) ? resource : undefined),
    // The token endpoint reuses the resource granted at authorization, so the BFF never has to name it.
    useGrantedResource: async () => true,
    getResourceServerInfo: async (_ctx, indicator) => {
      if (URL.parse(indicator)?.href !== resource) throw new errors.InvalidTarget('unknown resource');
      return { scope: API_SCOPE, audience: resource, accessTokenFormat: format };
    },
  };
}

/** First-party clients get the API scopes they ask for without a consent screen, as they get their OIDC scopes (consent.ts). */
export function withResourceScopes(load: LoadExistingGrant): LoadExistingGrant {
  return async (ctx) => {
    const grant = await load(ctx);
    if (!grant) return grant;
    let changed = false;
    for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
      const granted = new Set(grant.getResourceScopeEncountered(indicator).split(' '));
      const missing = [...ctx.oidc.requestParamScopes].filter((scope) => server.scopes.has(scope) && !granted.has(scope));
      if (missing.length) grant.addResourceScope(indicator, missing);
      changed ||= missing.length > 0;
    }
    if (changed) await grant.save();
    return grant;
  };
}
