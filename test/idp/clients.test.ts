import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { ConfigError } from '../../common/errors.js';
import { silentLogger } from '../../common/log.js';
import { readIdpConfig } from '../../idp/config.js';
import { createIdp } from '../../idp/app.js';
import {
  type TestIdp,
  authorizationRequest,
  browserCodeFlow,
  callEndpoint,
  codeFlowTokens,
  endIdpSession,
  introspect,
  refreshTokens,
  startTestIdp,
} from '../helpers/idp.js';

const SECRET = 'clients-test-secret-0001';
const entry = (id: string, extra: Record<string, unknown> = {}) => ({
  client_id: id,
  client_secret: SECRET,
  redirect_uris: [`https://${id}.example.com/callback`],
  grant_types: ['authorization_code', 'refresh_token'],
  ...extra,
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'clients-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function clientsFile(content: unknown): Promise<string> {
  const file = path.join(dir, `clients-${randomUUID()}.json`);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('IDP_CLIENTS_FILE', () => {
  test('its clients come after the built-in mvc and api, metadata and refresh policy as written', async () => {
    const rp = entry('rp', { id_token_signed_response_alg: 'RS256', x_refresh: { ttl_s: 3600, rotate: true, reuse_grace_s: 10 } });
    const config = readIdpConfig({ IDP_CLIENTS_FILE: await clientsFile([rp]) });
    expect(config.clients.map((client) => client.client_id)).toEqual(['mvc', 'api', 'rp']);
    expect(config.clients[2]).toEqual(rp);
  });

  test.each([
    ['not JSON', '[{"client_id": "rp",', /is not JSON/],
    ['not an array', { client_id: 'rp' }, /must hold a JSON array of client metadata objects/],
    ['an entry that is not an object', ['rp'], /client #1: must be an object of client metadata/],
    ['no client_id', [{ client_secret: SECRET }], /client #1: client_id is required/],
    ['a client_id taken by a built-in client', [entry('mvc')], /client_id "mvc" is used twice \(mvc and api are built in\)/],
    ['a client_id used twice', [entry('rp'), entry('rp')], /client_id "rp" is used twice/],
    ['a short secret', [entry('rp', { client_secret: 'short' })], /client #1 \("rp"\): client_secret is required, at least 16 characters/],
    ['the code flow without redirect_uris', [entry('rp', { redirect_uris: [] })], /\("rp"\): redirect_uris is required for the authorization_code grant/],
    ['a relative redirect URI', [entry('rp', { redirect_uris: ['/callback'] })], /redirect_uris must hold absolute URLs, got "\/callback"/],
    ['an unknown auth method', [entry('rp', { token_endpoint_auth_method: 'client_secret_jwt' })], /token_endpoint_auth_method "client_secret_jwt" is not supported; use one of client_secret_basic, client_secret_post/],
    ['an unsupported grant', [entry('rp', { grant_types: ['client_credentials'] })], /grant type "client_credentials" is not supported/],
    ['the implicit flow', [entry('rp', { response_types: ['id_token'] })], /response type "id_token" is not supported: this IdP runs the code flow only/],
    ['an unknown signing algorithm', [entry('rp', { id_token_signed_response_alg: 'HS256' })], /id_token_signed_response_alg "HS256" is not supported; use one of ES256, RS256/],
    ['a bad back-channel URI', [entry('rp', { backchannel_logout_uri: 'logout' })], /backchannel_logout_uri must be an absolute URL/],
    ['a refresh policy without the refresh grant', [entry('rp', { grant_types: ['authorization_code'], x_refresh: { ttl_s: 60 } })], /x_refresh needs the refresh_token grant type/],
    ['an unknown refresh policy field', [entry('rp', { x_refresh: { ttl: 60 } })], /x_refresh.ttl is unknown; use ttl_s, rotate, reuse_grace_s/],
    ['a refresh lifetime past the session cap', [entry('rp', { x_refresh: { ttl_s: 8 * 3600 + 1 } })], /x_refresh.ttl_s must be an integer between 1 and 28800/],
    ['a grace window longer than the lifetime', [entry('rp', { x_refresh: { ttl_s: 20, reuse_grace_s: 21 } })], /x_refresh.reuse_grace_s must be an integer between 0 and 20/],
    ['a non-boolean rotate', [entry('rp', { x_refresh: { rotate: 'yes' } })], /x_refresh.rotate must be true or false/],
  ])('%s: a ConfigError naming the file and the client', async (_case, content, message) => {
    const file = await clientsFile(content);
    expect(() => readIdpConfig({ IDP_CLIENTS_FILE: file })).toThrow(ConfigError);
    expect(() => readIdpConfig({ IDP_CLIENTS_FILE: file })).toThrow(message);
    expect(() => readIdpConfig({ IDP_CLIENTS_FILE: file })).toThrow(file);
  });

  test('a missing file: a ConfigError', () => {
    expect(() => readIdpConfig({ IDP_CLIENTS_FILE: path.join(dir, 'absent.json') })).toThrow(/IDP_CLIENTS_FILE: cannot read .*absent.json \(ENOENT\)/);
  });

  test('what only oidc-provider checks is checked when the IdP starts, not at the first sign-in', async () => {
    const file = await clientsFile([entry('rp', { application_type: 'desktop' })]);
    const start = createIdp(readIdpConfig({ IDP_CLIENTS_FILE: file, IDP_STORE: 'memory', IDP_DATA_DIR: dir }), { logger: silentLogger });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(`client "rp": application_type must be 'native' or 'web'`);
  });
});

describe('a client from the file, on a running IdP', () => {
  let idp: TestIdp;
  let receiver: { url: string; logoutTokens: string[]; close(): Promise<void> };
  beforeAll(async () => {
    receiver = await logoutReceiver();
    const rp = entry('rp', {
      redirect_uris: ['https://rp.example.com/callback'],
      post_logout_redirect_uris: ['https://rp.example.com/'],
      backchannel_logout_uri: `${receiver.url}/backchannel`,
      x_refresh: { ttl_s: 3600, reuse_grace_s: 0 },
    });
    const fixed = entry('fixed', { x_refresh: { ttl_s: 600, rotate: false } });
    const config = readIdpConfig({ IDP_CLIENTS_FILE: await clientsFile([rp, fixed]), APP_BASE_URL: 'http://localhost:3000', MVC_CLIENT_SECRET: 'mvc-test-secret' });
    idp = await startTestIdp({ clients: config.clients });
  });
  afterAll(async () => {
    await idp.close();
    await receiver.close();
  });

  test("the login page's CSP form-action lists its origin, so Chrome lets the form end on its redirect URI", async () => {
    const start = await fetch((await authorizationRequest(idp, 'rp')).url, { redirect: 'manual' });
    const cookie = start.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
    const page = await fetch(new URL(start.headers.get('location')!, idp.url), { headers: { cookie } });
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self' http://localhost:3000 https://rp.example.com");
  });

  test('a sign-out at the IdP reaches its back-channel logout URI, though it is on loopback', async () => {
    const { tokens, browser } = await browserCodeFlow(idp, 'rp');
    await endIdpSession(idp, browser, tokens.id_token);
    expect(receiver.logoutTokens).toHaveLength(1);
    expect(decodeJwt(receiver.logoutTokens[0]!)).toMatchObject({ aud: 'rp', sub: 'bob', iss: idp.url });
  });

  test('its refresh policy: its own refresh-token lifetime; mvc keeps the IdP-wide one', async () => {
    // A refresh token is introspected by its own client: no resource server may.
    const lifetime = async (token: string, clientId: string) => {
      const { exp, iat } = (await introspect(idp, token, clientId)).body as { exp: number; iat: number };
      return exp - iat;
    };
    expect(await lifetime((await codeFlowTokens(idp, 'rp')).refresh_token!, 'rp')).toBe(3600);
    expect(await lifetime((await codeFlowTokens(idp, 'mvc')).refresh_token!, 'mvc')).toBe(60);
  });

  test('its refresh policy: no grace window for rp (reuse revokes at once), while mvc keeps the IdP-wide 30 s', async () => {
    const reuse = async (clientId: string) => {
      const first = (await codeFlowTokens(idp, clientId)).refresh_token!;
      const next = await refreshTokens(idp, first, clientId);
      expect(next.status).toBe(200);
      return { again: await refreshTokens(idp, first, clientId), successor: await refreshTokens(idp, String(next.body.refresh_token), clientId) };
    };
    const rp = await reuse('rp');
    expect(rp.again.body).toMatchObject({ error: 'invalid_grant' });
    expect(rp.successor.body).toMatchObject({ error: 'invalid_grant' });
    const mvc = await reuse('mvc');
    expect(mvc.again.status).toBe(200);
    expect(mvc.successor.status).toBe(200);
  });

  test('its refresh policy: rotation off keeps one refresh token for the grant', async () => {
    const token = (await codeFlowTokens(idp, 'fixed')).refresh_token!;
    for (let round = 0; round < 3; round += 1) {
      const answer = await callEndpoint(idp, 'token_endpoint', { grant_type: 'refresh_token', refresh_token: token }, 'fixed');
      expect(answer).toMatchObject({ status: 200, body: { refresh_token: token } });
    }
  });
});

/** A client's back-channel logout endpoint on loopback, recording the logout tokens it receives. */
async function logoutReceiver() {
  const logoutTokens: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => void (body += chunk.toString()));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token');
      if (token) logoutTokens.push(token);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    logoutTokens,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
