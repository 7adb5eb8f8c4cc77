import { describe, expect, test } from '@jest/globals';
import express, { type Request, type Response } from 'express';
import { Agent, type Server, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { type Sealer, createSealer } from '../../common/sealed.js';
import { TokensTooLargeError } from '../../app/errors.js';
import type { AuthSession } from '../../app/session.js';
import { MAX_COOKIE_BYTES, createTokenCookie } from '../../app/cookie/auth-cookie.js';
import { COOKIE_KEYS, authCookieOf, openAuthCookie, setCookies, signIn, testClock } from '../helpers/app.js';
import { idpWithApps } from '../helpers/suite.js';

/** Written by cookie-session 2.1.1 (the auth cookie's writer until Max-Age came in) with COOKIE_KEYS, captured once. */
const COOKIE_SESSION_LINE =
  'auth=eyJ0IjoiSExhaFNtSGhndmEzRkVOa3BDeThMTGpnb29Lak9vM1VJcXJsRnIzemUzVHpnUFVPa0VpUlFNYy1pLXN0bTFCRURHcFdGNkI5QWNZSW05akJJMFdIMnZvOFVpLV96Vm0yNENHT29lVmppbFhaVE1mdHZ5S0w1cXJtMG1oazkzUUV4d3ZjUTVmb2U2eFFLdnhtOHRPLXJzbXdvNkJmVUJINFVUd2VwSjF0c25KNUcxYjBYUjJ1d2R4ejRQUVh0ZDllZzBmVXJlTXYwNk9IMVhLemJuV2VGT1BmOXZpTnZHbVNGNmlOc1RCLW9QWkNSTEhXWDZZaGZETVUxMUJqd0EifQ==; path=/; expires=Tue, 14 Nov 2023 22:14:20 GMT; samesite=lax; httponly';
const COOKIE_SESSION_SESSION = {
  idToken: 'id', accessToken: 'at', refreshToken: 'rt', claims: { sub: 'bob' }, issuedAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000, renewals: 2, sid: 'sid-1',
};

const expiresOf = (header: string | true | undefined) => new Date(String(header)).getTime();
/** An id token as the app reads it back (decoded, not verified): the signature part is never looked at. */
const idToken = (claims: Record<string, unknown>) =>
  [{ alg: 'ES256' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.signature';
/** Expires is written to the second, rounded down. */
const toSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

describe('the auth cookie on its own', () => {
  const clock = testClock(1_800_000_000_000);
  const sealer = createSealer(COOKIE_KEYS, 'auth-cookie');
  const make = (options: Partial<Parameters<typeof createTokenCookie>[0]> = {}) =>
    createTokenCookie({ secure: false, mode: 'persistent', sealer, cacheEntries: 0, now: clock.now, maxBytes: 12 * 1024, ...options });
  /** `name` sizes the id token: 2,600 characters take two cookies, 6,000 three. */
  const session = (lifetimeMs: number, extra: Partial<AuthSession> = {}, name = 'Bob'): AuthSession => ({
    idToken: idToken({ sub: 'bob', name, nonce: 'n' }), accessToken: 'a', refreshToken: 'r', claims: { sub: 'bob', name },
    issuedAt: clock.now(), expiresAt: clock.now() + lifetimeMs, renewals: 0, sid: 's', ...extra,
  });
  /** One request through `handle`; the body is what it returned. */
  const serve = (handle: (req: Request, res: Response) => unknown) => request(express().get('/', (req, res) => void res.json({ result: handle(req, res) ?? null })));

  test('persistent: Max-Age is the time left by the app\'s clock, Expires the same instant', async () => {
    const cookie = make();
    const res = await serve((req, res) => cookie.write(req, res, session(42_900))).get('/');
    const line = authCookieOf(res)!;
    expect(line.attributes['max-age']).toBe('42');
    expect(expiresOf(line.attributes.expires)).toBe(toSecond(clock.now() + 42_900));
    expect(line.attributes).toMatchObject({ httponly: true, samesite: 'lax', path: '/' });
    expect(line.attributes.secure).toBeUndefined();
    expect(line.attributes.domain).toBeUndefined();
  });

  test('the value is the sealed session in base64url, once; the claims are not stored but read again from the id token', async () => {
    const written = session(60_000);
    const { value } = authCookieOf(await serve((req, res) => make().write(req, res, written)).get('/'))!;
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(sealer.open(value)).toEqual({ i: written.idToken, a: 'a', r: 'r', t: written.issuedAt, e: written.expiresAt, n: 0, s: 's' });
    expect(openAuthCookie(value)).toEqual(written);
    const res = await serve((req) => make().read(req)).get('/').set('Cookie', `auth=${value}`);
    expect(res.body.result).toEqual(written);
  });

  test('a cookie of the previous format (cookie-session\'s) still opens; reading alone writes nothing', async () => {
    const res = await serve((req) => make().read(req)).get('/').set('Cookie', COOKIE_SESSION_LINE.split(';')[0]!);
    expect(res.body).toEqual({ result: COOKIE_SESSION_SESSION });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  test('https: the __Host- name and Secure', async () => {
    const cookie = make({ secure: true });
    const [line, ...more] = setCookies(await serve((req, res) => cookie.write(req, res, session(60_000))).get('/'));
    expect(more).toEqual([]);
    expect(line!.name).toBe('__Host-auth');
    expect(line!.attributes).toMatchObject({ secure: true, httponly: true, samesite: 'lax', path: '/', 'max-age': '60' });
    expect(line!.attributes.domain).toBeUndefined();
  });

  test('session mode: neither Max-Age nor Expires', async () => {
    const cookie = make({ mode: 'session' });
    const line = authCookieOf(await serve((req, res) => cookie.write(req, res, session(60_000))).get('/'))!;
    expect(line.attributes['max-age']).toBeUndefined();
    expect(line.attributes.expires).toBeUndefined();
  });

  test.each(['persistent', 'session'] as const)('%s: clearing sends Max-Age=0 and an Expires in the past', async (mode) => {
    const cookie = make({ mode });
    const line = authCookieOf(await serve((req, res) => cookie.clear(req, res)).get('/'))!;
    expect(line.value).toBe('');
    expect(line.attributes['max-age']).toBe('0');
    expect(expiresOf(line.attributes.expires)).toBe(0);
  });

  test('within one request: the last write wins, read() says what was written, other cookies stay', async () => {
    const cookie = make();
    const first = session(60_000, { renewals: 1 });
    const second = session(60_000, { renewals: 2 });
    const res = await serve((req, res) => {
      res.cookie('other', 'kept');
      cookie.write(req, res, first);
      cookie.write(req, res, second);
      return cookie.read(req);
    }).get('/');
    expect(setCookies(res).map(({ name }) => name)).toEqual(['other', 'auth']);
    expect(openAuthCookie(authCookieOf(res)!.value)).toEqual(second);
    expect(res.body.result).toEqual(second);

    // A renewal, then a logout in the same request: only the clearing line leaves.
    const cleared = await serve((req, res) => {
      cookie.write(req, res, first);
      cookie.clear(req, res);
      return cookie.read(req);
    }).get('/');
    expect(setCookies(cleared)).toHaveLength(1);
    expect(authCookieOf(cleared)!.attributes['max-age']).toBe('0');
    expect(cleared.body.result).toBeNull();
  });

  test.each([
    [false, 'persistent', 'auth'],
    [true, 'persistent', '__Host-auth'],
    [false, 'session', 'auth'],
  ] as const)('too large for one cookie (secure %s, %s): auth, auth.1, auth.2 with one expiry and the same attributes, each line < 4,096 bytes', async (secure, mode, name) => {
    const cookie = make({ secure, mode });
    const written = session(42_900, {}, 'N'.repeat(6000));
    const res = await serve((req, res) => cookie.write(req, res, written)).get('/');
    const lines = res.headers['set-cookie'] as unknown as string[];
    expect(setCookies(res).map((line) => line.name)).toEqual([name, `${name}.1`, `${name}.2`]);
    for (const line of lines) expect(Buffer.byteLength(line)).toBeLessThan(MAX_COOKIE_BYTES);
    const attributes = setCookies(res).map((line) => line.attributes);
    expect(new Set(attributes.map((each) => JSON.stringify(each))).size).toBe(1);
    expect(attributes[0]).toMatchObject({ httponly: true, samesite: 'lax', path: '/', ...(secure ? { secure: true } : {}) });
    if (mode === 'persistent') expect(attributes[0]).toMatchObject({ 'max-age': '42', expires: new Date(toSecond(written.expiresAt)).toUTCString() });
    else expect(attributes[0]!['max-age']).toBeUndefined();
    const joined = authCookieOf(res, name)!;
    expect(joined.value).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(openAuthCookie(joined.value)).toEqual(written);
    const back = await serve((req) => cookie.read(req)).get('/').set('Cookie', joined.pair);
    expect(back.body.result).toEqual(written);
    expect(back.headers['set-cookie']).toBeUndefined();
  });

  test('shrinking deletes the chunks the browser no longer needs, in the same response; clearing deletes every chunk sent', async () => {
    const cookie = make();
    const large = authCookieOf(await serve((req, res) => cookie.write(req, res, session(60_000, {}, 'N'.repeat(6000)))).get('/'))!;
    expect(large.chunks).toHaveLength(3);
    const withTx = `${large.pair}; auth.tx=kept`;
    const twoChunks = await serve((req, res) => cookie.write(req, res, session(60_000, {}, 'N'.repeat(2600)))).get('/').set('Cookie', withTx);
    expect(setCookies(twoChunks).map(({ name, attributes }) => [name, attributes['max-age']])).toEqual([['auth', '60'], ['auth.1', '60'], ['auth.2', '0']]);
    const single = await serve((req, res) => cookie.write(req, res, session(60_000))).get('/').set('Cookie', withTx);
    expect(setCookies(single).map(({ name, attributes }) => [name, attributes['max-age']])).toEqual([['auth', '60'], ['auth.1', '0'], ['auth.2', '0']]);
    const cleared = await serve((req, res) => cookie.clear(req, res)).get('/').set('Cookie', withTx);
    expect(setCookies(cleared).map(({ name, value, attributes }) => [name, value, attributes['max-age']])).toEqual([['auth', '', '0'], ['auth.1', '', '0'], ['auth.2', '', '0']]);
  });

  test('missing, reordered, duplicated or foreign chunks read as no session, never an error', async () => {
    const cookie = make();
    const write = async (name: string) => authCookieOf(await serve((req, res) => cookie.write(req, res, session(60_000, {}, name))).get('/'))!.chunks!;
    const [a, b] = [await write('N'.repeat(6000)), await write('M'.repeat(6000))];
    const header = (...chunks: { name: string; value: string }[]) => chunks.map(({ name, value }) => `${name}=${value}`).join('; ');
    const [a0, a1, a2] = a as [typeof a[0], typeof a[0], typeof a[0]];
    const variants = [
      header(a0, a1),
      header(a0, a2),
      header(a1, a2),
      header(a0, { ...a1, value: a2.value }, { ...a2, value: a1.value }),
      header(a0, a1, { ...a2, value: a1.value }),
      header(a0, { ...a1, value: b[1]!.value }, a2),
      header(b[0]!, a1, a2),
      header({ ...a0, value: `2${a0.value.slice(1)}` }, a1, a2),
      header({ ...a0, value: `4${a0.value.slice(1)}` }, a1, a2),
      header({ ...a0, value: a0.value.slice(2) }, a1, a2),
    ];
    for (const variant of variants) {
      const res = await serve((req) => cookie.read(req) ?? 'anonymous').get('/').set('Cookie', variant);
      expect(res.body.result).toBe('anonymous');
    }
    // The genuine set still opens, extra chunks of a longer value left behind included.
    const genuine = await serve((req) => cookie.read(req)?.claims.name).get('/').set('Cookie', `${header(a0, a1, a2)}; auth.3=left-over`);
    expect(genuine.body.result).toBe('N'.repeat(6000));
  });

  test('chunks together above maxBytes: TokensTooLargeError with the sizes, and nothing written', async () => {
    const cookie = make({ maxBytes: 8000 });
    const res = await serve((req, res) => {
      try {
        cookie.write(req, res, session(60_000, {}, 'N'.repeat(6000)));
      } catch (error) {
        return error instanceof TokensTooLargeError && { status: error.status, sizes: error.sizes };
      }
    }).get('/');
    expect(res.body.result).toMatchObject({ status: 502, sizes: { maxBytes: 8000, accessBytes: 1, refreshBytes: 1 } });
    expect(res.body.result.sizes.bytes).toBeGreaterThan(8000);
    expect(res.body.result.sizes.idBytes).toBeGreaterThan(8000);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('the memo of opened cookies', () => {
  const clock = testClock(1_800_000_000_000);
  const sealer = createSealer(COOKIE_KEYS, 'auth-cookie');
  const sealed = (sub: string) => `auth=${sealer.seal({ i: idToken({ sub }), a: 'a', r: 'r', t: clock.now(), e: clock.now() + 60_000, n: 0, s: sub })}`;
  /**
   * Runs `body` against a server reading the auth cookie with a sealer that counts its opens (`/clear` also clears it),
   * with clients that each hold one keep-alive connection to it; closes both ends afterwards.
   */
  async function onKeepAlive(
    { cacheEntries, maxBytes = 12 * 1024 }: { cacheEntries: number; maxBytes?: number },
    body: (kit: { counts: { opens: number; connections: number }; client: () => (cookieHeader?: string, path?: string) => Promise<string | null> }) => Promise<void>,
  ) {
    const counts = { opens: 0, connections: 0 };
    const counting: Sealer = { seal: (value) => sealer.seal(value), open: (value) => (counts.opens++, sealer.open(value)) };
    const cookie = createTokenCookie({ secure: false, mode: 'persistent', sealer: counting, cacheEntries, now: clock.now, maxBytes });
    const server: Server = express()
      .get('/', (req, res) => void res.json({ sub: cookie.read(req)?.claims.sub ?? null }))
      .get('/clear', (req, res) => {
        const sub = cookie.read(req)?.claims.sub ?? null;
        cookie.clear(req, res);
        res.json({ sub });
      })
      .listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', () => counts.connections++);
    const agents: Agent[] = [];
    const client = () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      /** The sub the server read from `cookieHeader`, over this client's one connection. */
      return (cookieHeader?: string, path = '/') =>
        new Promise<string | null>((resolve, reject) => {
          const headers = cookieHeader === undefined ? {} : { cookie: cookieHeader };
          get(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, { agent, headers }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => resolve((JSON.parse(body) as { sub: string | null }).sub));
          }).on('error', reject);
        });
    };
    try {
      await body({ counts, client });
    } finally {
      for (const agent of agents) agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  const [alice, bob] = [sealed('alice'), sealed('bob')];

  test('one keep-alive connection carrying several users\' cookies, as a proxy\'s does: every request reads its own session', () =>
    onKeepAlive({ cacheEntries: 1000 }, async ({ counts, client }) => {
      const send = client();
      const seen = [];
      for (const header of [alice, alice, bob, alice, undefined, bob, `other=1; ${alice}`, 'auth=tampered', alice]) seen.push(await send(header));
      expect(seen).toEqual(['alice', 'alice', 'bob', 'alice', null, 'bob', 'alice', null, 'alice']);
      expect(counts.connections).toBe(1);
      // Each sealed value opened once; the tampered one fails to open.
      expect(counts.opens).toBe(3);
    }));

  // A one-entry LRU that the other connection's cookie evicts: what is not opened again comes from the connection's memo.
  test('a connection sending its cookie again is answered from the connection, whatever the shared memo evicted', () =>
    onKeepAlive({ cacheEntries: 1 }, async ({ counts, client }) => {
      const [first, second] = [client(), client()];
      expect([await first(alice), await second(bob), await first(alice)]).toEqual(['alice', 'bob', 'alice']);
      expect(counts.opens).toBe(2);
    }));

  test('a response that clears the cookie forgets the connection\'s', () =>
    onKeepAlive({ cacheEntries: 1 }, async ({ counts, client }) => {
      const [first, second] = [client(), client()];
      expect([await first(alice), await second(bob), await first(alice, '/clear'), await first(alice)]).toEqual(['alice', 'bob', 'alice', 'alice']);
      expect(counts.opens).toBe(3);
    }));

  test('a Cookie header over maxBytes is not kept for its connection', () =>
    onKeepAlive({ cacheEntries: 1, maxBytes: 4096 }, async ({ counts, client }) => {
      const [first, second] = [client(), client()];
      const padded = `pad=${'x'.repeat(4096)}; ${alice}`;
      expect([await first(padded), await second(bob), await first(padded)]).toEqual(['alice', 'bob', 'alice']);
      expect(counts.opens).toBe(3);
    }));

  test('with the memo off (0 entries) every request opens its cookie', () =>
    onKeepAlive({ cacheEntries: 0 }, async ({ counts, client }) => {
      const send = client();
      for (let i = 0; i < 3; i++) expect(await send(alice)).toBe('alice');
      expect(counts.opens).toBe(3);
    }));
});

describe('the auth cookie in the app', () => {
  const { bff } = idpWithApps();

  // 30 s behind and ahead of real time: Max-Age depends on the app's clock only.
  test.each([-30_000, 30_000])('sign-in and renewal with the app clock %i ms off: Max-Age is the time left by that clock, Expires the session\'s', async (skewMs) => {
    const clock = testClock(Date.now() + skewMs);
    const { app } = await bff({ clock });
    /** The IdP's expires_in counted from the app's clock: 60 s, or 59 when the IdP's clock ticked over a second while answering. */
    const expectLifetime = ({ value, attributes }: NonNullable<ReturnType<typeof authCookieOf>>, renewals: number) => {
      const session = openAuthCookie(value)!;
      expect(session.renewals).toBe(renewals);
      const lifetimeS = (session.expiresAt - clock.now()) / 1000;
      expect([59, 60]).toContain(lifetimeS);
      expect(attributes['max-age']).toBe(String(lifetimeS));
      expect(expiresOf(attributes.expires)).toBe(toSecond(session.expiresAt));
    };
    const { cookie } = await signIn(app);
    expectLifetime(cookie, 0);

    clock.advance(31_000);
    const res = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(res.status).toBe(200);
    expectLifetime(authCookieOf(res)!, 1);
  });

  test('session mode: neither Max-Age nor Expires, at sign-in or renewal', async () => {
    const clock = testClock();
    const { app } = await bff({ clock, config: { cookieMode: 'session' } });
    const { cookie } = await signIn(app);
    clock.advance(31_000);
    const renewed = authCookieOf(await request(app).get('/about').set('Cookie', cookie.pair))!;
    for (const line of [cookie, renewed]) {
      expect(line.attributes['max-age']).toBeUndefined();
      expect(line.attributes.expires).toBeUndefined();
    }
  });

  test('logout, and an expired cookie, clear it with Max-Age=0', async () => {
    const clock = testClock();
    const { app, config } = await bff({ clock });
    const { cookie } = await signIn(app);
    const loggedOut = await request(app).post('/logout').set('Cookie', cookie.pair).set('Origin', config.baseUrl.origin);
    expect(loggedOut.status).toBe(303);
    const expired = (await signIn(app)).cookie;
    clock.advance(60_000);
    const late = await request(app).get('/about').set('Cookie', expired.pair);
    expect(late.status).toBe(302);
    for (const res of [loggedOut, late]) {
      const cleared = authCookieOf(res)!;
      expect(cleared.value).toBe('');
      expect(cleared.attributes['max-age']).toBe('0');
      expect(expiresOf(cleared.attributes.expires)).toBeLessThan(Date.now());
    }
  });
});
