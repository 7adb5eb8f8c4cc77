import type { RequestHandler } from 'express';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { callApi } from './api-proxy.js';
import type { AuthContext } from './auth-middleware.js';
import type { AppConfig } from './config.js';
import type { IdpClient } from './idp-client.js';
import { halfLife, shouldRenew } from './renewal.js';

/** The timing facts the About page shows; pure so the view stays dumb. */
export function lifecycle(auth: AuthContext, now: number) {
  const total = auth.expiresAt - auth.issuedAt;
  const elapsed = Math.min(Math.max(now - auth.issuedAt, 0), total);
  return {
    now: new Date(now),
    issuedAt: new Date(auth.issuedAt),
    expiresAt: new Date(auth.expiresAt),
    halfLifeAt: new Date(halfLife(auth.issuedAt, auth.expiresAt)),
    remainingSeconds: Math.max(0, Math.ceil((auth.expiresAt - now) / 1000)),
    elapsedPermille: total > 0 ? Math.round((elapsed / total) * 1000) : 1000,
    phase: shouldRenew(now, auth.issuedAt, auth.expiresAt) ? 'past half-life: the next request renews' : 'before half-life: no renewal yet',
    renewals: auth.renewals,
  };
}

export const home: RequestHandler = (_req, res) => {
  res.render('home');
};

/** Settles a call into what the page shows: the JSON answer, or why there is none. */
async function outcome(call: Promise<unknown>) {
  try {
    return { ok: true as const, body: await call };
  } catch (error) {
    return { ok: false as const, error: reason(error) };
  }
}

/** A bearer refusal shows the server's own error code rather than openid-client's generic message. */
function reason(error: unknown): string {
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const { error: code, error_description: description } = error.cause[0]?.parameters ?? {};
    return `the IdP refused the access token (${error.status} ${code ?? 'unauthorized'}${description ? `: ${description}` : ''})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The `aud` of a JWT access token; undefined for an opaque one. */
function audienceOf(accessToken: string): string | undefined {
  try {
    return [decodeJwt(accessToken).aud ?? []].flat().join(', ') || undefined;
  } catch {
    return undefined;
  }
}

/** With IDP_ACCESS_TOKEN_FORMAT=jwt the access token is bound to the API: UserInfo refuses it, and the page says why. */
async function fetchUserInfo(idp: IdpClient, auth: AuthContext) {
  try {
    return await client.fetchUserInfo(await idp.configuration(), auth.accessToken, String(auth.user.sub));
  } catch (error) {
    const audience = audienceOf(auth.accessToken);
    if (error instanceof client.WWWAuthenticateChallengeError && audience) {
      throw new Error(`${reason(error)}: the access token is a JWT for ${audience}, not for UserInfo; the claims above come from the id token`);
    }
    throw error;
  }
}

export function about(config: AppConfig, idp: IdpClient, now: () => number): RequestHandler {
  return async (req, res) => {
    const auth = req.auth!;
    const [userinfo, api] = await Promise.all([
      outcome(fetchUserInfo(idp, auth)),
      outcome(
        callApi(config.apiUrl, 'profile', auth.accessToken, { timeoutMs: config.idpTimeoutMs }).then(async (response) => {
          const body = await response.json();
          if (!response.ok) throw new Error(`the API answered ${response.status}: ${JSON.stringify(body)}`);
          return body;
        }),
      ),
    ]);
    res.render('about', { claims: auth.user, timing: lifecycle(auth, now()), userinfo, api });
  };
}
