import request, { type Response } from 'supertest';
import type { Express } from 'express';
import type { CustomFetch } from 'openid-client';
import { type AppConfig, readAppConfig } from '../../app/config.js';
import { type AppDeps, type BffApp, createApp } from '../../app/demo/app.js';
import { chunkName, joinValue } from '../../app/cookie/chunks.js';
import { openSession } from '../../app/cookie/payload.js';
import { createSealer } from '../../common/sealed.js';
import type { AuthSession } from '../../app/session.js';
import { tokenCookieName } from '../../app/cookie/auth-cookie.js';
import { silentLogger } from '../../common/log.js';
import { clientSecret, type TestIdp } from './idp.js';
import { type Credentials, parseSetCookieLine, signInAtIdp } from './sign-in.js';

export const COOKIE_KEYS = ['test-cookie-key-0000000001'];

/** The app's injected clock: tests move time instead of waiting. */
export function testClock(start = Date.now()) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}
export type TestClock = ReturnType<typeof testClock>;

/** A fetch that can be cut off like a dead network, failing the way undici does. */
export function switchableFetch() {
  let down = false;
  const fetchFn: CustomFetch = (url, options) => {
    if (down) return Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }));
    return fetch(url, options as RequestInit);
  };
  return { fetch: fetchFn, setDown: (value: boolean) => void (down = value) };
}

export function testAppConfig(idp: TestIdp, overrides: Partial<AppConfig> = {}): AppConfig {
  const config = readAppConfig({
    IDP_ISSUER: idp.url,
    MVC_CLIENT_SECRET: clientSecret(idp, 'mvc'),
    APP_COOKIE_KEYS: COOKIE_KEYS.join(','),
    API_BASE_URL: 'http://127.0.0.1:9',
    APP_IDP_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'error',
  });
  return { ...config, ...overrides };
}

export async function startTestApp(idp: TestIdp, { clock = testClock(), config = {}, deps = {} }: { clock?: TestClock; config?: Partial<AppConfig>; deps?: AppDeps } = {}) {
  const appConfig = testAppConfig(idp, config);
  const bff: BffApp = await createApp(appConfig, { now: clock.now, logger: silentLogger, ...deps });
  return { ...bff, config: appConfig, clock };
}

export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
  /** `name=value`, ready for a Cookie header (every chunk's, for a chunked auth cookie). */
  pair: string;
  /** authCookieOf: the Set-Cookie of each chunk, first included. */
  chunks?: SetCookie[];
}

export function setCookies(res: Response): SetCookie[] {
  const header = res.headers['set-cookie'] as unknown as string[] | undefined;
  return (header ?? []).map((line) => {
    const cookie = parseSetCookieLine(line);
    const sameSite = cookie.attributes.samesite;
    // SameSite's value is case-insensitive and the two cookie libraries in play spell it differently.
    return typeof sameSite === 'string' ? { ...cookie, attributes: { ...cookie.attributes, samesite: sameSite.toLowerCase() } } : cookie;
  });
}

/** The cookie `name` a response set, its chunks joined: `value` is the whole sealed value, `pair` all the chunks' pairs. */
export function authCookieOf(res: Response, name = 'auth'): SetCookie | undefined {
  const all = setCookies(res);
  const first = all.find((cookie) => cookie.name === name);
  if (!first) return undefined;
  const chunks = [first];
  const value = joinValue(first.value, (index) => {
    const chunk = all.find((cookie) => cookie.name === chunkName(name, index));
    if (chunk) chunks.push(chunk);
    return chunk?.value;
  });
  return { ...first, value: value ?? first.value, pair: chunks.map((chunk) => chunk.pair).join('; '), chunks };
}

/** Reads what the browser could not: the sealed session inside an auth cookie value (authCookieOf's, chunks joined). */
export function openAuthCookie(value: string, keys = COOKIE_KEYS): AuthSession | undefined {
  return openSession(createSealer(keys, 'auth-cookie'), value);
}

/**
 * The whole browser dance against an in-process app: /login → the IdP's login form (as bob unless told) → /signin-oidc.
 * Returns the auth cookie, and `atIdp` what the browser holds at the IdP (its cookies, for an IdP-side sign-out).
 * `secure`: as if behind a TLS terminator.
 */
export async function signIn(app: Express, returnTo = '/about', { credentials, secure = false }: { credentials?: Credentials; secure?: boolean } = {}) {
  const get = (path: string) => request(app).get(path).set(secure ? { 'X-Forwarded-Proto': 'https' } : {});
  const start = await get(`/login?returnTo=${encodeURIComponent(returnTo)}`);
  if (start.status !== 302) throw new Error(`/login answered ${start.status}`);
  const transaction = setCookies(start).find((cookie) => cookie.name === tokenCookieName(secure, 'auth.tx'))!;
  const atIdp = await signInAtIdp(start.headers.location!, credentials);
  const callbackUrl = atIdp.redirect;
  const done = await get(callbackUrl.pathname + callbackUrl.search).set('Cookie', transaction.pair);
  const cookie = authCookieOf(done, tokenCookieName(secure));
  if (done.status !== 302 || !cookie) throw new Error(`/signin-oidc answered ${done.status}: ${done.text.slice(0, 200)}`);
  return { cookie, response: done, transaction, callbackUrl, atIdp };
}
