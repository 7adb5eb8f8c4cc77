/** The BFF in front of the API: About, the /bff/api proxy, operator revocation and account edits, in both token modes. */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Express } from 'express';
import request from 'supertest';
import type { AccessTokenFormat } from '../../idp/config.js';
import { type TestApi, startTestApi } from '../helpers/api.js';
import { type SetCookie, type TestClock, authCookieOf, openAuthCookie, signIn, startTestApp, testClock } from '../helpers/app.js';
import { type TestIdp, editBobClaims, restoreAccounts, startTestIdp } from '../helpers/idp.js';

const CACHE_MS = 5000;
const HALF_LIFE_MS = 30_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Stack {
  idp: TestIdp;
  api: TestApi;
  app: Express;
  clock: TestClock;
}

/** One IdP (SQLite: the operator command reaches its store from another process) per suite; an API and a BFF on one clock per test. */
function useStack(accessTokenFormat: AccessTokenFormat = 'opaque') {
  let idp: TestIdp;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    idp = await startTestIdp({ store: 'sqlite', accessTokenFormat });
  });
  afterAll(async () => {
    await idp.close();
  });
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    await restoreAccounts(idp);
  });
  return async ({ apiUrl }: { apiUrl?: URL } = {}): Promise<Stack> => {
    const clock = testClock();
    const api = await startTestApi(idp, { clock, config: { introspectionCacheMs: CACHE_MS } });
    const bff = await startTestApp(idp, { clock, config: { apiUrl: apiUrl ?? api.url } });
    closers.push(api.close, bff.close);
    return { idp, api, app: bff.app, clock };
  };
}

/** What a browser script sends: the auth cookie and `X-CSRF: 1`. */
function proxy(app: Express, cookie: SetCookie | undefined, path = '/bff/api/profile') {
  return request(app)
    .get(path)
    .set({ 'X-CSRF': '1', ...(cookie ? { Cookie: cookie.pair } : {}) });
}

/** The browser keeps whatever auth cookie the BFF last set. */
function nextCookie(res: request.Response, current: SetCookie): SetCookie | undefined {
  const set = authCookieOf(res);
  if (!set) return current;
  return set.value ? set : undefined;
}

describe.each<AccessTokenFormat>(['opaque', 'jwt'])('the BFF with %s access tokens', (format) => {
  const start = useStack(format);

  test('About shows the API answer next to the claims; the proxy carries the current token across a renewal', async () => {
    const { app, clock } = await start();
    let { cookie } = await signIn(app);
    const about = await request(app).get('/about').set('Cookie', cookie.pair);
    expect(about.status).toBe(200);
    const validatedBy = format === 'jwt' ? 'jwt' : 'introspection';
    expect(about.text).toMatch(new RegExp(`<pre id="api">[^<]*&#34;role&#34;: &#34;user&#34;[^<]*&#34;validated_by&#34;: &#34;${validatedBy}&#34;`));

    expect((await proxy(app, cookie)).body).toMatchObject({ sub: 'bob', role: 'user', validated_by: validatedBy });
    clock.advance(HALF_LIFE_MS);
    const renewed = await proxy(app, cookie);
    expect(renewed.status).toBe(200);
    const before = openAuthCookie(cookie.value)!;
    cookie = nextCookie(renewed, cookie)!;
    const after = openAuthCookie(cookie.value)!;
    expect(after.renewals).toBe(1);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect((await proxy(app, cookie)).body).toMatchObject({ sub: 'bob', validated_by: validatedBy });
  });
});

describe('operator revocation and account edits', () => {
  const start = useStack();

  test('`npm run idp:revoke -- --user bob`: the API answers 401 within its cache time, the BFF session ends at the next renewal', async () => {
    const { idp, app, clock } = await start();
    const { cookie } = await signIn(app);
    expect((await proxy(app, cookie)).status).toBe(200);

    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'idp/revoke.ts', '--user', 'bob'], {
      cwd: ROOT,
      env: { ...process.env, IDP_STORE: 'sqlite', IDP_DATA_DIR: idp.config.dataDir, NODE_OPTIONS: '' },
    });
    expect(stdout).toContain('bob: 1 grant(s) revoked');

    expect((await proxy(app, cookie)).status).toBe(200); // the API's cached answer
    clock.advance(CACHE_MS);
    const refused = await proxy(app, cookie);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);

    clock.advance(HALF_LIFE_MS - CACHE_MS);
    const ended = await proxy(app, cookie);
    expect(ended.status).toBe(401);
    expect(ended.body).toMatchObject({ error: 'unauthenticated' });
    expect(nextCookie(ended, cookie)).toBeUndefined();
    expect((await request(app).get('/about').set('Cookie', cookie.pair)).headers.location).toBe('/login?returnTo=%2Fabout');
  });

  test("bob's role edited in the accounts file: after the next renewal it shows in the cookie's claims and the API", async () => {
    const { idp, app, clock } = await start();
    let { cookie } = await signIn(app);
    await editBobClaims(idp, { role: 'admin' });
    expect((await proxy(app, cookie)).body.role).toBe('user'); // the current token was issued before the edit
    clock.advance(HALF_LIFE_MS);
    const renewed = await proxy(app, cookie);
    expect(renewed.body.role).toBe('admin');
    cookie = nextCookie(renewed, cookie)!;
    const session = openAuthCookie(cookie.value)!;
    expect(session.claims.role).toBe('admin');
  });
});

describe('the /bff/api proxy', () => {
  const start = useStack();

  /** Stands in for the API and records what reached it. */
  async function capturingApi() {
    const seen: { method?: string; url?: string; headers: IncomingHttpHeaders; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'api-session=leak' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { url, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  test('forwards the access token and nothing else of the browser: no cookie, no other header', async () => {
    const captured = await capturingApi();
    try {
      const { app } = await start({ apiUrl: captured.url });
      const { cookie } = await signIn(app);
      const get = await proxy(app, cookie, '/bff/api/orders?page=2').set({ 'X-Forwarded-For': '10.0.0.1', Referer: 'http://localhost:3000/about' });
      expect(get.status).toBe(200);
      expect(get.body).toEqual({ ok: true });
      expect(get.headers['set-cookie']).toBeUndefined();
      const post = await request(app).post('/bff/api/orders').set({ 'X-CSRF': '1', Cookie: cookie.pair, 'Content-Type': 'application/json' }).send('{"item":1}');
      expect(post.status).toBe(200);

      const accessToken = openAuthCookie(cookie.value)!.accessToken;
      expect(captured.seen.map(({ method, url, body }) => ({ method, url, body }))).toEqual([
        { method: 'GET', url: '/api/orders?page=2', body: '' },
        { method: 'POST', url: '/api/orders', body: '{"item":1}' },
      ]);
      for (const { headers } of captured.seen) {
        expect(headers.authorization).toBe(`Bearer ${accessToken}`);
        expect(headers.cookie).toBeUndefined();
        expect(headers['x-csrf']).toBeUndefined();
        expect(headers['x-forwarded-for']).toBeUndefined();
        expect(headers.referer).toBeUndefined();
      }
    } finally {
      await captured.close();
    }
  });

  test('without X-CSRF: 403 for GET and POST, and the API is not called', async () => {
    const captured = await capturingApi();
    try {
      const { app } = await start({ apiUrl: captured.url });
      const { cookie } = await signIn(app);
      expect((await request(app).get('/bff/api/profile').set('Cookie', cookie.pair)).status).toBe(403);
      const post = await request(app).post('/bff/api/profile').set({ Cookie: cookie.pair, 'X-CSRF': '0' }).send('x');
      expect(post.status).toBe(403);
      expect(post.body).toMatchObject({ error: 'csrf' });
      expect(captured.seen).toEqual([]);
    } finally {
      await captured.close();
    }
  });

  test('without a session: 401 JSON, not a redirect to the login page', async () => {
    const { app } = await start();
    const res = await proxy(app, undefined);
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ error: 'unauthenticated' });
  });

  test('only the configured API: a path leaving /api/ is refused, other methods are 405', async () => {
    const { app } = await start();
    const { cookie } = await signIn(app);
    for (const path of ['/bff/api/%2e%2e/healthz', '/bff/api/.%2E/healthz', '/bff/api/http://evil.example/x']) {
      expect((await proxy(app, cookie, path)).status).toBe(400);
    }
    expect((await request(app).delete('/bff/api/profile').set({ 'X-CSRF': '1', Cookie: cookie.pair })).status).toBe(405);
  });

  test('the API down: 502 JSON', async () => {
    const { app } = await start({ apiUrl: new URL('http://127.0.0.1:9/') });
    const { cookie } = await signIn(app);
    const res = await proxy(app, cookie);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: 'bad_gateway' });
  });
});
