import type { AddressInfo } from 'node:net';
import { PAGE, benchAppConfig, ourApp } from './apps.js';
import { startServer } from './child.js';
import { discover, signIn } from './oidc.js';
import {
  type TokenSet, authCookie, authSession, eocCookie, largeTokenSet, pastHalfLife, rawTokenBytes, syntheticTokenSet, withIdTokenClaims, withJwtAccessToken,
} from './session.js';
import { type Check, type Section, num, table } from './stats.js';

/**
 * Scenario 4: the auth cookie's size as the app writes it (the Set-Cookie lines of a renewal), for a given token set.
 * Browsers keep at most 4,096 bytes per cookie (name, value and attributes, RFC 6265 §6.1) and silently drop larger ones:
 * a value that does not fit one cookie is split over `auth`, `auth.1`, …, every line under the limit, and the chunks
 * together count against APP_COOKIE_MAX_BYTES.
 */

export const COOKIE_LIMIT = 4096;
/** The demo token set's Set-Cookie line before the compact format (cookie-session's base64 of JSON of base64url, claims stored twice). */
const DEMO_LINE_BEFORE = 1904;

export interface SizedTokenSet {
  label: string;
  tokens: TokenSet;
}

/** The auth Set-Cookie lines of a renewal that installs `tokens`: the refresh is stubbed, everything else is the app's. */
async function setCookieLines(tokens: TokenSet): Promise<string[]> {
  const renewed = authSession(tokens);
  const { app, close } = await ourApp({ refresh: async () => ({ kind: 'renewed', session: renewed }) });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${PAGE}`, {
      headers: { cookie: authCookie(pastHalfLife(authSession(tokens))) },
    });
    const lines = res.headers.getSetCookie().filter((candidate) => /^auth(\.\d+)?=/.test(candidate));
    if (res.status !== 200 || !lines.length) throw new Error(`the renewal answered ${res.status} without an auth cookie`);
    return lines;
  } finally {
    server.close();
    await close();
  }
}

/** Every byte of token costs about 4/3 bytes of cookie: AES-GCM ciphertext, base64url once. */
const COOKIE_BYTES_PER_TOKEN_BYTE = 4 / 3;

/** The table, a check per set, and each set's longest Set-Cookie line. */
export async function cookieSizes(sets: readonly SizedTokenSet[]): Promise<{ markdown: string; checks: Check[]; longestLines: number[] }> {
  const { cookieMaxBytes } = benchAppConfig();
  const rows: string[][] = [];
  const checks: Check[] = [];
  const longestLines: number[] = [];
  for (const { label, tokens } of sets) {
    const lines = await setCookieLines(tokens);
    const header = lines.map((line) => line.split(';')[0]).join('; ');
    const longest = Math.max(...lines.map((line) => Buffer.byteLength(line)));
    longestLines.push(longest);
    const headroom = Math.floor((cookieMaxBytes - Buffer.byteLength(header)) / COOKIE_BYTES_PER_TOKEN_BYTE);
    rows.push([
      label,
      num(tokens.idToken.length),
      num(tokens.accessToken.length),
      num(tokens.refreshToken.length),
      num(rawTokenBytes(tokens)),
      num(lines.length),
      num(Buffer.byteLength(header)),
      num(longest),
      num(eocCookie(tokens).length),
      `${num(headroom)} bytes`,
    ]);
    checks.push({ target: `4. every auth Set-Cookie line < ${num(COOKIE_LIMIT)} bytes, ${label}`, met: longest < COOKIE_LIMIT, measured: `${num(lines.length)} × ≤ ${num(longest)} bytes` });
  }
  const markdown = [
    table(
      ['token set', 'id token', 'access token', 'refresh token', 'tokens together', 'cookies', 'Cookie header (`name=value` pairs)', 'longest Set-Cookie line', 'express-openid-connect `name=value`', `room left under APP_COOKIE_MAX_BYTES (${num(cookieMaxBytes)})`],
      rows,
    ),
    '',
    `Sizes in bytes. Each Set-Cookie line, attributes included, must stay under ${num(COOKIE_LIMIT)} (the strictest reading); the chunks' pairs`,
    'together are what the browser sends back and what APP_COOKIE_MAX_BYTES bounds. The sealed session is AES-256-GCM ciphertext in base64url,',
    `without the display claims (read again from the id token): each extra byte of token costs about ${num(COOKIE_BYTES_PER_TOKEN_BYTE, 2)} bytes of cookie;`,
    'the last column is how many token bytes still fit under the ceiling.',
    `Before the compact format the demo set's line was ${num(DEMO_LINE_BEFORE)} bytes: the sealed value was wrapped in JSON and base64-encoded again, with the claims stored twice.`,
  ].join('\n');
  return { markdown, checks, longestLines };
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
  const demoJwt = await withJwtAccessToken(demo);
  const large = await largeTokenSet();
  const { markdown, checks, longestLines } = await cookieSizes([
    { label: 'demo IdP sign-in, opaque access token', tokens: demo },
    { label: 'demo IdP sign-in, JWT access token (simulated)', tokens: demoJwt },
    { label: 'synthetic set of scenario 1', tokens: await syntheticTokenSet() },
    { label: 'demo sign-in, 2,600-character name, JWT access token (simulated)', tokens: await withIdTokenClaims(demoJwt, { name: 'N'.repeat(2600) }) },
    { label: `${num(rawTokenBytes(large))} bytes of tokens, scenario 1's chunked set`, tokens: large },
  ]);
  const demoLine = longestLines[0]!;
  checks.push({ target: `4. demo auth cookie smaller than before (${num(DEMO_LINE_BEFORE)}-byte Set-Cookie line)`, met: demoLine < DEMO_LINE_BEFORE, measured: `${num(demoLine)} bytes` });
  const notes = [
    '',
    'The demo IdP issues opaque access tokens only (no resource indicators configured), so the JWT rows replace the',
    'access token of the real sign-in with an ES256 JWT carrying RFC 9068 claims (iss, sub, aud, client_id, scope, jti, iat, exp, auth_time),',
    'signed the way the IdP signs its id tokens; the larger rows re-sign the id token with the added claims.',
  ];
  return { title: '4. Cookie size', markdown: markdown + '\n' + notes.join('\n'), checks };
}
