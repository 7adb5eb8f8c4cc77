import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readAppConfig } from '../../app/config.js';
import { createApp } from '../../app/index.js';
import { createSealer } from '../../common/sealed.js';
import type { AuthSession } from '../../app/session.js';
import { silentLogger } from '../../common/log.js';

const MUTANTS = 10_000;
const COOKIE_KEYS = ['fuzz-cookie-key-00000000001'];

/** The app on a real socket (so header parsing is real) with an IdP that is never reached: no mutant may need one. */
const config = readAppConfig({ IDP_ISSUER: 'http://127.0.0.1:9', APP_COOKIE_KEYS: COOKIE_KEYS.join(','), LOG_LEVEL: 'error' });

const now = Date.now();
const session: AuthSession = {
  idToken: 'x.y.z', accessToken: 'at', refreshToken: 'rt', claims: { sub: 'bob' },
  issuedAt: now - 120_000, expiresAt: now - 60_000, renewals: 0,
};
const wrap = (sealed: string) => Buffer.from(JSON.stringify({ t: sealed })).toString('base64');
const expiredCookie = wrap(createSealer(COOKIE_KEYS, 'auth-cookie').seal(session));
const foreignCookie = wrap(createSealer(['some-other-key-000000000001'], 'auth-cookie').seal({ ...session, expiresAt: now + 60_000 }));

/** Deterministic mutations of valid-looking cookies: the shapes attackers and broken proxies produce. */
function mutant(i: number): string {
  const rnd = randomBytes(64);
  const base = i % 2 ? expiredCookie : foreignCookie;
  switch (i % 8) {
    case 0: return randomBytes(1 + (i % 300)).toString('base64');
    case 1: return base.slice(0, i % base.length);
    case 2: {
      const chars = [...base];
      const at = rnd.readUInt16BE(0) % chars.length;
      // A bit flip, folded back into printable ASCII: control characters are not valid in a header at all.
      chars[at] = String.fromCharCode(0x21 + ((chars[at]!.charCodeAt(0) ^ (1 << (i % 6))) % 94));
      return chars.join('');
    }
    case 3: return foreignCookie;
    case 4: return expiredCookie;
    case 5: return base.repeat(2 + (i % 3)).slice(0, 3800);
    case 6: return wrap(rnd.toString('base64url'));
    default: return encodeURIComponent(rnd.toString('latin1'));
  }
}

let server: Server;
let origin: string;
let close: () => Promise<void>;

beforeAll(async () => {
  const bff = await createApp(config, { logger: silentLogger });
  close = bff.close;
  server = createServer(bff.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await close();
});

describe('cookie fuzzing', () => {
  test(`${MUTANTS} mutated auth cookies: all anonymous, zero 5xx, the process stays up`, async () => {
    const statuses = new Map<number, number>();
    const batch = 50;
    for (let start = 0; start < MUTANTS; start += batch) {
      await Promise.all(
        Array.from({ length: batch }, async (_, k) => {
          const i = start + k;
          const value = mutant(i);
          const header = i % 10 === 9 ? `auth=${value}; auth=${mutant(i + 1)}` : `auth=${value}`;
          const path = i % 2 ? '/about' : '/';
          const res = await fetch(origin + path, { headers: { cookie: header }, redirect: 'manual' });
          const body = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (path === '/about') expect(res.headers.get('location')).toBe('/login?returnTo=%2Fabout');
          else expect(body).toContain('You are not signed in');
        }),
      );
    }
    expect([...statuses.keys()].sort()).toEqual([200, 302]);
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
  }, 120_000);
});
