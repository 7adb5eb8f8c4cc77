import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader } from 'jose';
import type { CustomFetch } from 'openid-client';
import request from 'supertest';
import { type AppConfig, readAppConfig } from '../../app/config.js';
import { ConfigError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { defaultClients, readIdpConfig } from '../../idp/config.js';
import { authCookieOf, setCookies, signIn, startTestApp, testClock } from '../helpers/app.js';
import { TEST_APP_BASE_URL, type TestIdp, startTestIdp } from '../helpers/idp.js';
import { signInAtIdp } from '../helpers/sign-in.js';

/** The app's log lines, parsed, as the JSON logger writes them. */
function appLog() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger('app', 'info', (line) => void lines.push(JSON.parse(line) as Record<string, unknown>)) };
}

/**
 * A token endpoint that refuses credentials in the Authorization header, as some IdPs refuse openid-client's
 * URL-encoded Basic secret; it records how each token request carried the secret.
 */
function basicRefusingFetch() {
  const seen: string[] = [];
  const fetchFn: CustomFetch = async (url, options) => {
    const body = new URLSearchParams(String(options.body ?? ''));
    if (!String(url).endsWith('/token')) return fetch(url, options as RequestInit);
    const basic = new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).get('authorization')?.startsWith('Basic ');
    seen.push(basic ? 'header' : body.has('client_secret') ? 'form' : 'none');
    if (!basic) return fetch(url, options as RequestInit);
    return Response.json({ error: 'invalid_client', error_description: 'client credentials must be in the request body' }, { status: 401 });
  };
  return { fetch: fetchFn, seen };
}

describe('APP_CLIENT_AUTH_METHOD with a client secret', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    // The IdP holds a client to the method it registered: mvc is registered for the form here.
    const clients = defaultClients({ appBaseUrl: TEST_APP_BASE_URL, mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' });
    idp = await startTestIdp({ clients: clients.map((client) => (client.client_id === 'mvc' ? { ...client, token_endpoint_auth_method: 'client_secret_post' } : client)) });
  });
  afterAll(async () => {
    await idp.close();
  });

  test('reads client_secret_basic (default), client_secret_post or private_key_jwt, and nothing else', () => {
    expect(readAppConfig({}).clientAuthMethod).toBe('client_secret_basic');
    expect(readAppConfig({ APP_CLIENT_AUTH_METHOD: 'client_secret_post' }).clientAuthMethod).toBe('client_secret_post');
    expect(readAppConfig({ APP_CLIENT_AUTH_METHOD: 'client_secret_post' }).clientPrivateKey).toBeUndefined();
    expect(() => readAppConfig({ APP_CLIENT_AUTH_METHOD: 'client_secret_jwt' })).toThrow(/APP_CLIENT_AUTH_METHOD must be one of client_secret_basic, client_secret_post, private_key_jwt/);
  });

  test('client_secret_post: the secret goes in the form, at sign-in and at renewal', async () => {
    const clock = testClock();
    const idpFetch = basicRefusingFetch();
    const app = await startTestApp(idp, { clock, config: { clientAuthMethod: 'client_secret_post' }, deps: { fetch: idpFetch.fetch } });
    const { cookie } = await signIn(app.app);
    clock.advance(31_000);
    const renewed = await request(app.app).get('/about').set('Cookie', cookie.pair);
    expect(renewed.status).toBe(200);
    expect(idpFetch.seen).toEqual(['form', 'form']);
    await app.close();
  });

  test('failure mode, client_secret_basic there: the sign-in fails and the log says why (OAuth error, description, status), with no secret', async () => {
    const log = appLog();
    const idpFetch = basicRefusingFetch();
    const app = await startTestApp(idp, { deps: { logger: log.logger, fetch: idpFetch.fetch } });
    await expect(signIn(app.app)).rejects.toThrow(/signin-oidc answered 400/);
    const line = log.lines.find((entry) => entry.msg === 'sign-in failed');
    console.log(`sign-in refused over the auth method, logged: ${JSON.stringify(line)}`);
    expect(line).toMatchObject({ error: 'invalid_client', error_description: 'client credentials must be in the request body', status: 401 });
    expect(JSON.stringify(log.lines)).not.toContain('mvc-test-secret');
    await app.close();
  });
});

const KEY_PAIRS = {
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  Ed25519: () => generateKeyPairSync('ed25519'),
};

/** A private JWK for APP_CLIENT_PRIVATE_KEY, and its public half for the client's `jwks` at the IdP. */
function clientKey(alg: keyof typeof KEY_PAIRS, kid: string) {
  const { privateKey } = KEY_PAIRS[alg]();
  return {
    privateJwk: { ...privateKey.export({ format: 'jwk' }), alg, kid },
    publicJwk: { ...createPublicKey(privateKey).export({ format: 'jwk' }), alg, kid, use: 'sig' },
  };
}

/** The app's auth-method settings as APP_CLIENT_AUTH_METHOD and APP_CLIENT_PRIVATE_KEY give them. */
function privateKeyJwt(privateJwk: object): Partial<AppConfig> {
  const { clientAuthMethod, clientPrivateKey } = readAppConfig({ APP_CLIENT_AUTH_METHOD: 'private_key_jwt', APP_CLIENT_PRIVATE_KEY: JSON.stringify(privateJwk) });
  return { clientAuthMethod, clientPrivateKey };
}

/** Records how each token request authenticated the client: the assertion's header, a secret, or an Authorization header. */
function tokenRequests() {
  const seen: { assertion?: { alg?: string; kid?: string }; assertionType: string | null; secret: boolean; authorization: boolean }[] = [];
  const fetchFn: CustomFetch = async (url, options) => {
    if (String(url).endsWith('/token')) {
      const body = new URLSearchParams(String(options.body ?? ''));
      const assertion = body.get('client_assertion');
      seen.push({
        assertion: assertion ? decodeProtectedHeader(assertion) : undefined,
        assertionType: body.get('client_assertion_type'),
        secret: body.has('client_secret'),
        authorization: new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).has('authorization'),
      });
    }
    return fetch(url, options as RequestInit);
  };
  return { fetch: fetchFn, seen };
}

describe('APP_CLIENT_PRIVATE_KEY', () => {
  const { privateJwk, publicJwk } = clientKey('ES256', 'app-1');
  const read = (key?: unknown) =>
    readAppConfig({ APP_CLIENT_AUTH_METHOD: 'private_key_jwt', APP_CLIENT_PRIVATE_KEY: key === undefined ? undefined : typeof key === 'string' ? key : JSON.stringify(key) });

  test('a private JWK with its alg becomes a non-extractable signing key, with its kid', () => {
    const { clientPrivateKey } = read(privateJwk);
    expect(clientPrivateKey?.kid).toBe('app-1');
    expect(clientPrivateKey?.key).toMatchObject({ type: 'private', extractable: false, usages: ['sign'], algorithm: { name: 'ECDSA', namedCurve: 'P-256' } });
    expect(read(clientKey('RS256', 'app-2').privateJwk).clientPrivateKey?.key.algorithm.name).toBe('RSASSA-PKCS1-v1_5');
  });

  test('off loopback, no client secret is asked for: private_key_jwt sends none', () => {
    const deployed = { APP_BASE_URL: 'https://app.example.com', IDP_ISSUER: 'https://id.example.com', APP_COOKIE_KEYS: 'our-own-cookie-key-0001' };
    expect(() => readAppConfig(deployed)).toThrow(/set MVC_CLIENT_SECRET/);
    expect(readAppConfig({ ...deployed, APP_CLIENT_AUTH_METHOD: 'private_key_jwt', APP_CLIENT_PRIVATE_KEY: JSON.stringify(privateJwk) }).clientAuthMethod).toBe('private_key_jwt');
  });

  test.each([
    ['unset', undefined, /APP_CLIENT_PRIVATE_KEY is required with APP_CLIENT_AUTH_METHOD=private_key_jwt/],
    ['not JSON', '-----BEGIN PRIVATE KEY-----', /APP_CLIENT_PRIVATE_KEY must be a private JWK as JSON/],
    ['a key set', { keys: [privateJwk] }, /APP_CLIENT_PRIVATE_KEY must be one private JWK object, not a key set/],
    ['no alg', { ...privateJwk, alg: undefined }, /APP_CLIENT_PRIVATE_KEY must name its "alg": one of RS256, PS256, ES256, Ed25519, got undefined/],
    ['a symmetric alg', { ...privateJwk, alg: 'HS256' }, /must name its "alg": one of RS256, PS256, ES256, Ed25519, got "HS256"/],
    ['the public half only', publicJwk, /APP_CLIENT_PRIVATE_KEY is not a usable ES256 private key/],
    ['an alg the key is not for', { ...privateJwk, alg: 'RS256' }, /APP_CLIENT_PRIVATE_KEY is not a usable RS256 private key/],
  ])('%s: a ConfigError naming the variable, with no key material in it', (_case, key, message) => {
    expect(() => read(key)).toThrow(ConfigError);
    expect(() => read(key)).toThrow(message);
    expect(() => read(key)).not.toThrow(String(privateJwk.d));
  });
});

describe('a private_key_jwt client in IDP_CLIENTS_FILE', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pkjwt-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const base = { client_id: 'rp', token_endpoint_auth_method: 'private_key_jwt', redirect_uris: ['https://rp.example.com/callback'] };
  const readWith = async (client: object) => {
    const file = path.join(dir, `clients-${randomUUID()}.json`);
    await writeFile(file, JSON.stringify([client]));
    return () => readIdpConfig({ IDP_CLIENTS_FILE: file });
  };

  test('needs no secret, but its public keys inline', async () => {
    const { publicJwk, privateJwk } = clientKey('ES256', 'rp-1');
    expect((await readWith({ ...base, jwks: { keys: [publicJwk] } }))().clients[2]).toMatchObject({ client_id: 'rp', jwks: { keys: [publicJwk] } });
    for (const [client, message] of [
      [base, /\("rp"\): private_key_jwt needs "jwks": \{"keys": \[...\]\} with the public key\(s\) the client signs with \(jwks_uri is not supported\)/],
      [{ ...base, jwks_uri: 'https://rp.example.com/jwks' }, /private_key_jwt needs "jwks"/],
      [{ ...base, jwks: { keys: [] } }, /private_key_jwt needs "jwks"/],
      [{ ...base, jwks: { keys: [privateJwk] } }, /\("rp"\): jwks must hold public keys only: a key has its private part "d"/],
    ] as const) {
      expect(await readWith(client)).toThrow(message);
    }
  });
});

describe('APP_CLIENT_AUTH_METHOD=private_key_jwt against our IdP', () => {
  const keys = Object.fromEntries(Object.keys(KEY_PAIRS).map((alg) => [alg, clientKey(alg as keyof typeof KEY_PAIRS, `bff-${alg}`)]));
  let idp: TestIdp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pkjwt-'));
    const file = path.join(dir, 'clients.json');
    // A second BFF registered the way an operator would: one entry in the clients file, public keys only, no secret.
    const entry = {
      client_id: 'bff-pkjwt',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: Object.values(keys).map((key) => key.publicJwk) },
      redirect_uris: [`${TEST_APP_BASE_URL}/signin-oidc`],
      post_logout_redirect_uris: [`${TEST_APP_BASE_URL}/`],
      grant_types: ['authorization_code', 'refresh_token'],
    };
    await writeFile(file, JSON.stringify([entry]));
    // Jest lends the test realm Node's structuredClone: oidc-provider's copy of a static client would then fail its
    // same-realm plain-object check on `jwks` ("client JSON Web Key Set is invalid"). Outside Jest the copy is same-realm.
    const { structuredClone: nodeClone } = globalThis;
    globalThis.structuredClone = (value) => JSON.parse(JSON.stringify(value));
    try {
      idp = await startTestIdp({ clients: readIdpConfig({ IDP_CLIENTS_FILE: file, APP_BASE_URL: TEST_APP_BASE_URL }).clients });
    } finally {
      globalThis.structuredClone = nodeClone;
    }
  });
  afterAll(async () => {
    await idp.close();
    await rm(dir, { recursive: true, force: true });
  });

  test.each(Object.keys(KEY_PAIRS))('%s: signs in and renews with a signed client assertion, and never sends a secret', async (alg) => {
    const key = keys[alg]!;
    const clock = testClock();
    const requests = tokenRequests();
    const app = await startTestApp(idp, { clock, config: { clientId: 'bff-pkjwt', ...privateKeyJwt(key.privateJwk) }, deps: { fetch: requests.fetch } });
    const { cookie } = await signIn(app.app);
    clock.advance(31_000);
    expect((await request(app.app).get('/about').set('Cookie', cookie.pair)).status).toBe(200);
    const expected = { assertion: { alg, kid: key.privateJwk.kid }, assertionType: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', secret: false, authorization: false };
    expect(requests.seen).toEqual([expected, expected]);
    await app.close();
  });

  test('failure mode, a key the IdP does not know: the sign-in fails with a clear page, and the log says why (OAuth error, description, status)', async () => {
    const log = appLog();
    // Same kid, other key: the IdP finds the key by kid and the signature fails.
    const wrong = clientKey('ES256', 'bff-ES256');
    const app = await startTestApp(idp, { config: { clientId: 'bff-pkjwt', ...privateKeyJwt(wrong.privateJwk) }, deps: { logger: log.logger } });
    const start = await request(app.app).get('/login');
    const { redirect: callback } = await signInAtIdp(start.headers.location!);
    const page = await request(app.app).get(callback.pathname + callback.search).set('Cookie', setCookies(start).map((cookie) => cookie.pair).join('; '));
    expect(page.status).toBe(400);
    expect(page.text).toContain('The sign-in could not be completed. Please sign in again.');
    expect(authCookieOf(page)).toBeUndefined();
    const line = log.lines.find((entry) => entry.msg === 'sign-in failed');
    console.log(`private_key_jwt with an unknown key, sign-in logged: ${JSON.stringify(line)}`);
    expect(line).toMatchObject({ error: 'invalid_client', error_description: 'client authentication failed', status: 401 });
    expect(JSON.stringify(log.lines)).not.toContain(String(wrong.privateJwk.d));
    await app.close();
  });

  test('failure mode, the key replaced under a signed-in user: the renewal is refused, logged with error, description and status', async () => {
    const good = await startTestApp(idp, { config: { clientId: 'bff-pkjwt', ...privateKeyJwt(keys.ES256!.privateJwk) } });
    const { cookie } = await signIn(good.app);
    await good.close();
    const log = appLog();
    const clock = testClock();
    const app = await startTestApp(idp, { clock, config: { clientId: 'bff-pkjwt', ...privateKeyJwt(clientKey('ES256', 'bff-ES256').privateJwk) }, deps: { logger: log.logger } });
    clock.advance(31_000);
    const answer = await request(app.app).get('/about').set('Cookie', cookie.pair);
    const line = log.lines.find((entry) => entry.msg === 'token refresh failed');
    console.log(`private_key_jwt with an unknown key, renewal answered ${answer.status}, logged: ${JSON.stringify(line)}`);
    expect(line).toMatchObject({ phase: 'refused', error: 'invalid_client', error_description: 'client authentication failed', status: 401 });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toMatch(/^\/login/);
    await app.close();
  });
});
