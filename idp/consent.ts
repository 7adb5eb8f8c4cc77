import { decodeJwt } from 'jose';
import { type Client, type Grant, type KoaContextWithOIDC, type Provider, errors } from 'oidc-provider';

export interface GrantRequest {
  accountId: string;
  clientId: string;
  /** The grant the session already holds for this client, if any. */
  grantId?: string;
  scopes: Iterable<string>;
  claims: Iterable<string>;
}

/**
 * Every client is registered by the operator (built in, or in IDP_CLIENTS_FILE), so what it asks for is granted without
 * a consent screen: the session's grant (or a new one) gets the requested OIDC scopes and claims.
 */
export async function firstPartyGrant(provider: Provider, request: GrantRequest): Promise<Grant> {
  const existing = request.grantId ? await provider.Grant.find(request.grantId) : undefined;
  const grant =
    existing?.accountId === request.accountId && existing.clientId === request.clientId
      ? existing
      : new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
  grant.addOIDCScope([...request.scopes].join(' '));
  grant.addOIDCClaims([...request.claims]);
  await grant.save();
  return grant;
}

/** oidc-provider's `loadExistingGrant` hook: runs at the authorization endpoint once the user is known. */
export async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { oidc } = ctx;
  if (!oidc.account || !oidc.client || !oidc.session) return undefined;
  return firstPartyGrant(oidc.provider, {
    accountId: oidc.account.accountId,
    clientId: oidc.client.clientId,
    grantId: oidc.result?.consent?.grantId ?? oidc.session.grantIdFor(oidc.client.clientId),
    scopes: oidc.requestParamOIDCScopes,
    claims: oidc.requestParamClaims,
  });
}

/**
 * oidc-provider drops a requested `offline_access` unless the request says prompt=consent (OIDC Core §11), yet our
 * clients still get refresh tokens: a client that sends its scope again on refresh was then refused. The operator's
 * registration is the consent here, so a client that may have refresh tokens keeps the scope it asked for; one that
 * may not loses it and gets no refresh token. An `extraParams` validator: it runs after oidc-provider's scope checks.
 */
export async function keepOfflineAccess(ctx: KoaContextWithOIDC, _value: string | undefined, client?: Client): Promise<void> {
  const params = ctx.oidc.params as { scope?: string };
  const scopes = params.scope?.split(' ') ?? [];
  if (!client?.grantTypeAllowed('refresh_token') || scopes.includes('offline_access') || !requestedScopes(ctx).includes('offline_access')) return;
  if (client.scope && !client.scope.split(' ').includes('offline_access')) throw new errors.InvalidScope('requested scope is not allowed', 'offline_access');
  params.scope = [...scopes, 'offline_access'].join(' ');
}

/** The scope as the client sent it: in the pushed request (PAR), the form or the query. */
function requestedScopes(ctx: KoaContextWithOIDC): string[] {
  const pushed = ctx.oidc.entities.PushedAuthorizationRequest;
  const raw = pushed ? decodeJwt(pushed.request).scope : (ctx.method === 'POST' ? (ctx.oidc.body as Record<string, unknown> | undefined) : ctx.query)?.scope;
  return typeof raw === 'string' ? raw.split(' ') : [];
}
