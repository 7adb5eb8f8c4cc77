import type { RequestHandler } from 'express';
import { type AppConfig, type AuthContext, callApi, halfLife, shouldRenew } from '../lib.js';

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
    return { ok: false as const, error: error instanceof Error ? error.message : String(error) };
  }
}

/** The access token is bound to the API (its `aud`), so the page calls the API only; the claims come from the id token. */
export function about(config: AppConfig, now: () => number): RequestHandler {
  return async (req, res) => {
    const auth = req.auth!;
    const api = await outcome(
      callApi(config.apiUrl, 'profile', auth.accessToken, { timeoutMs: config.idpTimeoutMs }).then(async (response) => {
        const body = await response.json();
        if (!response.ok) throw new Error(`the API answered ${response.status}: ${JSON.stringify(body)}`);
        return body;
      }),
    );
    res.render('about', { claims: auth.user, timing: lifecycle(auth, now()), api });
  };
}
