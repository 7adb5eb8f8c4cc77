import type { Grant, KoaContextWithOIDC, Provider } from 'oidc-provider';

export interface GrantRequest {
  accountId: string;
  clientId: string;
  /** The grant the session already holds for this client, if any. */
  grantId?: string;
  scopes: Iterable<string>;
  claims: Iterable<string>;
}

/**
 * Every client is configured by the operator and first-party, so what it asks for is granted without a
 * consent screen: the session's grant (or a new one) gets the requested OIDC scopes and claims.
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
