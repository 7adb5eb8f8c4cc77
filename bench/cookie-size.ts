import type { AddressInfo } from 'node:net';
import { PAGE, ourApp } from './apps.js';
import { startServer } from './child.js';
import { discover, signIn } from './oidc.js';
import { type TokenSet, authCookie, authSession, eocCookie, pastHalfLife, syntheticTokenSet, withJwtAccessToken } from './session.js';
import { type Check, type Section, num, table } from './stats.js';

/**
 * Scenario 4: the auth cookie's size as the app writes it (the Set-Cookie of a renewal), for a given token set.
 * Browsers keep at most 4,096 bytes per cookie (name, value and attributes, RFC 6265 §6.1) and silently drop larger ones.
 */

export const COOKIE_LIMIT = 4096;

export interface SizedTokenSet {
  label: string;
  tokens: TokenSet;
}

/** The Set-Cookie line of a renewal that installs `tokens`: the refresh is stubbed, everything else is the app's. */
async function setCookieLine(tokens: TokenSet): Promise<string> {
  const renewed = authSession(tokens);
  const { app, close } = await ourApp({ refresh: async () => ({ kind: 'renewed', session: renewed }) });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${PAGE}`, {
      headers: { cookie: authCookie(pastHalfLife(authSession(tokens))) },
    });
    const line = res.headers.getSetCookie().find((candidate) => candidate.startsWith('auth='));
    if (res.status !== 200 || !line) throw new Error(`the renewal answered ${res.status} without an auth cookie`);
    return line;
  } finally {
    server.close();
    await close();
  }
}

/** Every byte of token costs ~16/9 bytes of cookie: AES-GCM ciphertext → base64url, wrapped in JSON → base64 again. */
const COOKIE_BYTES_PER_TOKEN_BYTE = 16 / 9;

export async function cookieSizes(sets: readonly SizedTokenSet[]): Promise<{ markdown: string; checks: Check[] }> {
  const rows: string[][] = [];
  const checks: Check[] = [];
  for (const { label, tokens } of sets) {
    const line = await setCookieLine(tokens);
    const pair = line.split(';')[0]!;
    const bytes = Buffer.byteLength(line);
    const headroom = Math.floor((COOKIE_LIMIT - bytes) / COOKIE_BYTES_PER_TOKEN_BYTE);
    rows.push([
      label,
      num(tokens.idToken.length),
      num(tokens.accessToken.length),
      num(tokens.refreshToken.length),
      num(Buffer.byteLength(pair)),
      num(bytes),
      num(eocCookie(tokens).length),
      `${num(headroom)} bytes`,
    ]);
    checks.push({ target: `4. auth cookie < ${num(COOKIE_LIMIT)} bytes, ${label}`, met: bytes < COOKIE_LIMIT, measured: `${num(bytes)} bytes` });
  }
  const markdown = [
    table(
      ['token set', 'id token', 'access token', 'refresh token', 'cookie `name=value`', 'whole Set-Cookie line', 'express-openid-connect `name=value`', 'room left for more token bytes'],
      rows,
    ),
    '',
    `Sizes in bytes. The limit (${num(COOKIE_LIMIT)}) is checked against the whole Set-Cookie line, attributes included, the strictest reading.`,
    'The sealed session is AES-256-GCM ciphertext in base64url, which cookie-session wraps in JSON and base64-encodes again:',
    `each extra byte of token costs about ${num(COOKIE_BYTES_PER_TOKEN_BYTE, 2)} bytes of cookie; the last column is how many token bytes still fit.`,
  ].join('\n');
  return { markdown, checks };
}

/** The demo token set: bob signs in at the real IdP (memory store), which issues opaque access tokens. */
async function demoTokenSet(): Promise<TokenSet> {
  const idp = await startServer('idp', { store: 'memory' });
  try {
    const tokens = await signIn(await discover(idp.url));
    return { idToken: tokens.id_token!, accessToken: tokens.access_token, refreshToken: tokens.refresh_token!, claims: tokens.claims() ?? {} };
  } finally {
    await idp.stop();
  }
}

export async function cookieSizeScenario(): Promise<Section> {
  const demo = await demoTokenSet();
  const { markdown, checks } = await cookieSizes([
    { label: 'demo IdP sign-in, opaque access token', tokens: demo },
    { label: 'demo IdP sign-in, JWT access token (simulated)', tokens: await withJwtAccessToken(demo) },
    { label: 'synthetic set of scenario 1', tokens: await syntheticTokenSet() },
  ]);
  const notes = [
    '',
    'The demo IdP issues opaque access tokens only (no resource indicators configured), so the JWT row replaces the',
    'access token of the real sign-in with an ES256 JWT carrying RFC 9068 claims (iss, sub, aud, client_id, scope, jti, iat, exp, auth_time),',
    'signed the way the IdP signs its id tokens.',
  ];
  return { title: '4. Cookie size', markdown: markdown + '\n' + notes.join('\n'), checks };
}
