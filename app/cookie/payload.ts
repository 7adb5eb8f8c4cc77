import type { Sealer } from '../../common/sealed.js';
import { type AuthSession, displayClaims, isAuthSession } from '../session.js';

/**
 * What the auth cookie seals: the session under one-letter keys, as every byte travels with every request —
 * i id token, a access token, r refresh token, t issuedAt, e expiresAt, n renewals, s the IdP session id, l the sign-in id.
 * The display claims are left out: the id token carries them already (and logout needs the id token itself).
 */
interface Payload {
  i: string;
  a: string;
  r?: string;
  t: number;
  e: number;
  n: number;
  s?: string;
  l?: string;
}

export function sealSession(sealer: Sealer, { idToken, accessToken, refreshToken, issuedAt, expiresAt, renewals, sid, signInId }: AuthSession): string {
  return sealer.seal({ i: idToken, a: accessToken, r: refreshToken, t: issuedAt, e: expiresAt, n: renewals, s: sid, l: signInId } satisfies Payload);
}

function fromPayload(value: unknown): AuthSession | undefined {
  const p = value as Payload;
  if (typeof p !== 'object' || p === null || typeof p.i !== 'string' || typeof p.a !== 'string') return undefined;
  if (typeof p.t !== 'number' || typeof p.e !== 'number' || typeof p.n !== 'number') return undefined;
  try {
    return { idToken: p.i, accessToken: p.a, refreshToken: p.r, claims: displayClaims(p.i), issuedAt: p.t, expiresAt: p.e, renewals: p.n, sid: p.s, signInId: p.l };
  } catch {
    return undefined;
  }
}

/**
 * The previous format, base64 of `{"t": <sealed whole session>}` (cookie-session's): still read for one release, so an
 * upgrade signs no one out mid-session. Remove in the release after.
 */
function previousFormat(sealer: Sealer, value: string): AuthSession | undefined {
  try {
    const { t } = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as { t?: unknown };
    const session = typeof t === 'string' ? sealer.open(t) : undefined;
    return isAuthSession(session) ? session : undefined;
  } catch {
    return undefined;
  }
}

/** undefined for anything but a cookie value this sealer's keys produced. */
export function openSession(sealer: Sealer, value: string): AuthSession | undefined {
  return fromPayload(sealer.open(value)) ?? previousFormat(sealer, value);
}
