import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomInt } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chunkName, splitValue } from '../../app/cookie/chunks.js';
import { sealSession } from '../../app/cookie/payload.js';
import { readAppConfig } from '../../app/config.js';
import { createApp } from '../../app/demo/app.js';
import { createSealer } from '../../common/sealed.js';
import type { AuthSession } from '../../app/session.js';
import { silentLogger } from '../../common/log.js';

const MUTANTS = 10_000;
const CHUNK_MUTANTS = 2_000;
const COOKIE_KEYS = ['fuzz-cookie-key-00000000001'];

/** Every random choice comes from this seed: `FUZZ_SEED=<n>` replays a run. */
const SEED = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));
console.info(`cookie fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

/** mulberry32: a small, well-mixed 32-bit PRNG. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    /** 0 ≤ n < max. */
    int: (max: number) => Math.floor(next() * max),
    bytes: (length: number) => Buffer.from(Array.from({ length }, () => Math.floor(next() * 256))),
  };
}
type Random = ReturnType<typeof prng>;

/** The app on a real socket (so header parsing is real) with an IdP that is never reached: no mutant may need one. */
const config = readAppConfig({ IDP_ISSUER: 'http://127.0.0.1:9', APP_COOKIE_KEYS: COOKIE_KEYS.join(','), LOG_LEVEL: 'error' });
const sealer = createSealer(COOKIE_KEYS, 'auth-cookie');

/** An id token the app can decode (it never verifies one it sealed itself). */
const idToken = (claims: Record<string, unknown>) =>
  [{ alg: 'ES256' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.signature';

const now = Date.now();
const session = (sub: string, name: string, issuedAt: number, expiresAt: number): AuthSession => ({
  idToken: idToken({ sub, name }), accessToken: 'at', refreshToken: 'rt', claims: { sub, name }, issuedAt, expiresAt, renewals: 0,
});
const expiredCookie = sealSession(sealer, session('bob', 'Bob', now - 120_000, now - 60_000));
const foreignCookie = sealSession(createSealer(['some-other-key-000000000001'], 'auth-cookie'), session('bob', 'Bob', now, now + 60_000));
/** The format of cookie-session's days, still read for one release. */
const wrap = (sealed: string) => Buffer.from(JSON.stringify({ t: sealed })).toString('base64');

/** Mutations of valid-looking cookies: the shapes attackers and broken proxies produce. */
function mutant(i: number, random: Random): string {
  const rnd = random.bytes(64);
  const base = i % 2 ? expiredCookie : foreignCookie;
  switch (i % 8) {
    case 0: return random.bytes(1 + (i % 300)).toString('base64');
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

type Pair = [name: string, value: string];

/** A live session (well before half-life, so no renewal calls the IdP) in three chunks, as `[name, value]` pairs. */
function chunkedCookie(sub: string): Pair[] {
  const sealed = sealSession(sealer, session(sub, sub[0]!.toUpperCase().repeat(3000), now, now + 3_600_000));
  return splitValue(sealed, 0, Math.ceil(sealed.length / 3)).map((value, index) => [chunkName('auth', index), value]);
}
const alice = chunkedCookie('alice');
const mallory = chunkedCookie('mallory');

/** A random reordering of `items` that is not the identity. */
function derangement<T>(items: readonly T[], random: Random): T[] {
  for (;;) {
    const shuffled = [...items];
    for (let i = shuffled.length - 1; i > 0; i -= 1) {
      const j = random.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    if (shuffled.some((item, index) => item !== items[index])) return shuffled;
  }
}

/** Alice's chunks broken one way or another: none of these may sign anyone in. */
function chunkMutant(i: number, random: Random): Pair[] {
  const values = alice.map(([, value]) => value);
  const names = alice.map(([name]) => name);
  const at = random.int(alice.length);
  switch (i % 6) {
    case 0: return alice.filter((_, index) => index !== at); // a chunk dropped
    case 1: { // chunk values reordered
      const reordered = derangement(values, random);
      return names.map((name, index) => [name, reordered[index]!]);
    }
    case 2: { // one chunk's value in another's place too
      const other = (at + 1 + random.int(alice.length - 1)) % alice.length;
      return alice.map(([name, value], index) => [name, index === other ? values[at]! : value]);
    }
    case 3: { // some, not all, chunks swapped with mallory's
      const swapped = new Set(derangement([...names.keys()], random).slice(0, 1 + random.int(alice.length - 1)));
      return alice.map(([name, value], index) => [name, swapped.has(index) ? mallory[index]![1] : value]);
    }
    case 4: { // a wrong count in the first cookie (the right one is 3)
      const count = [1, 2, 4, 9, 99][random.int(5)];
      return [[names[0]!, `${count}${values[0]!.slice(1)}`], ...alice.slice(1)];
    }
    default: return [[names[1 + random.int(alice.length - 1)]!, mallory[1 + random.int(alice.length - 1)]![1]], ...alice]; // the same name twice, a foreign value first
  }
}

/** The order cookies arrive in does not matter, nor do chunks a longer value left behind: these must sign alice in. */
function genuine(i: number, random: Random): Pair[] {
  const extra: Pair[] = i % 2 ? [['auth.3', mallory[2]![1]]] : [];
  return derangement([...alice, ...extra, ['other', 'x']], random);
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
    const random = prng(SEED);
    const statuses = new Map<number, number>();
    const batch = 50;
    for (let start = 0; start < MUTANTS; start += batch) {
      await Promise.all(
        Array.from({ length: batch }, async (_, k) => {
          const i = start + k;
          const value = mutant(i, random);
          const header = i % 10 === 9 ? `auth=${value}; auth=${mutant(i + 1, random)}` : `auth=${value}`;
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

  test(`${CHUNK_MUTANTS} chunked cookies with chunks dropped, reordered, duplicated or swapped with another session's: all anonymous, zero 5xx`, async () => {
    const home = async (pairs: Pair[]) => {
      const res = await fetch(`${origin}/`, { headers: { cookie: pairs.map(([name, value]) => `${name}=${value}`).join('; ') }, redirect: 'manual' });
      return { status: res.status, body: await res.text() };
    };
    const random = prng(SEED);
    for (let i = 0; i < 20; i += 1) {
      const { status, body } = await home(genuine(i, random));
      expect(status).toBe(200);
      expect(body).toContain('You are signed in as <strong>AAAA');
    }
    const statuses = new Map<number, number>();
    const batch = 50;
    for (let start = 0; start < CHUNK_MUTANTS; start += batch) {
      const pending = Array.from({ length: batch }, (_, k) => chunkMutant(start + k, random)).map(async (pairs) => {
        const { status, body } = await home(pairs);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        expect(body).toContain('You are not signed in');
      });
      await Promise.all(pending);
    }
    expect([...statuses]).toEqual([[200, CHUNK_MUTANTS]]);
  }, 120_000);
});
