/**
 * The deployment every production has: a TLS-terminating reverse proxy in front of the IdP and the app, which speak
 * plain http behind it. The proxy here is real (node:https with a self-signed certificate made for the test) and
 * forwards with X-Forwarded-Proto/Host/For; APP_BASE_URL and IDP_ISSUER are its https URLs.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type TestClock, startTestApp, testClock } from '../helpers/app.js';
import { type TestIdp, startTestIdp } from '../helpers/idp.js';
import { createBrowser, signInAtIdp } from '../helpers/sign-in.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasOpenssl) console.warn('SKIPPED: the TLS-proxy sign-in needs the openssl CLI to make its certificate');

/** A self-signed certificate for localhost and 127.0.0.1, valid one day. */
async function selfSignedCertificate() {
  const dir = await mkdtemp(path.join(tmpdir(), 'tls-proxy-'));
  const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const pair = { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  await rm(dir, { recursive: true, force: true });
  return pair;
}

interface TlsProxy {
  url: string;
  /** Every Set-Cookie line the upstream sent through this proxy. */
  setCookies: string[];
  /** Where requests go: the upstream's http port. */
  forwardTo(port: number): void;
  server: Server;
}

/** Terminates TLS and forwards over http, as nginx or a load balancer would. */
async function startTlsProxy(credentials: { key: string; cert: string }): Promise<TlsProxy> {
  let upstream = 0;
  const setCookies: string[] = [];
  const server = createHttpsServer(credentials, (req: IncomingMessage, res: ServerResponse) => {
    const headers = { ...req.headers, 'x-forwarded-proto': 'https', 'x-forwarded-host': req.headers.host, 'x-forwarded-for': req.socket.remoteAddress };
    const forward = httpRequest({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers }, (answer) => {
      setCookies.push(...(answer.headers['set-cookie'] ?? []));
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://localhost:${(server.address() as AddressInfo).port}`, setCookies, forwardTo: (port) => void (upstream = port), server };
}

const close = (server: Server) => {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
};

/** A browser at the app, each answer with its Set-Cookie lines as sent. */
function appBrowser(origin: string) {
  const browser = createBrowser();
  return {
    async get(pathname: string) {
      const res = await browser.fetch(new URL(pathname, origin));
      return { res, lines: res.headers.getSetCookie(), body: await res.text() };
    },
  };
}

(hasOpenssl ? describe : describe.skip)('sign-in and renewal through a TLS-terminating reverse proxy', () => {
  let idpProxy: TlsProxy;
  let appProxy: TlsProxy;
  let idp: TestIdp;
  let appServer: Server;
  let bff: Awaited<ReturnType<typeof startTestApp>>;
  let clock: TestClock;
  const trustedCAs = tls.getCACertificates('default');

  beforeAll(async () => {
    const credentials = await selfSignedCertificate();
    // What NODE_EXTRA_CA_CERTS does for a deployment on a private CA, for this process: the app's calls to the IdP and this test's browser trust the proxy.
    tls.setDefaultCACertificates([...trustedCAs, credentials.cert]);
    [idpProxy, appProxy] = await Promise.all([startTlsProxy(credentials), startTlsProxy(credentials)]);
    idp = await startTestIdp({ issuer: idpProxy.url, appBaseUrl: appProxy.url });
    idpProxy.forwardTo(Number(new URL(idp.url).port));
    clock = testClock();
    bff = await startTestApp(idp, { clock, config: { baseUrl: new URL(appProxy.url), issuer: new URL(idpProxy.url) } });
    appServer = createServer(bff.app);
    await new Promise<void>((resolve) => appServer.listen(0, '127.0.0.1', resolve));
    appProxy.forwardTo((appServer.address() as AddressInfo).port);
  });
  afterAll(async () => {
    await Promise.all([idpProxy, appProxy].map((proxy) => proxy && close(proxy.server)));
    if (appServer) await close(appServer);
    await bff?.close();
    await idp?.close();
    tls.setDefaultCACertificates(trustedCAs);
  });

  test('discovery advertises the proxy’s https endpoints', async () => {
    const doc = (await (await fetch(`${idpProxy.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(idpProxy.url);
    const endpoints = Object.entries(doc).filter(([name]) => name.endsWith('_endpoint') || name === 'jwks_uri');
    expect(endpoints.length).toBeGreaterThanOrEqual(6);
    for (const [name, value] of endpoints) expect([name, String(value).startsWith(`${idpProxy.url}/`)]).toEqual([name, true]);
  });

  test('sign-in completes with Secure cookies on both sides, and the session renews', async () => {
    const browser = appBrowser(appProxy.url);
    const start = await browser.get('/login?returnTo=/about');
    expect(start.res.status).toBe(302);
    expect(start.lines.find((line) => line.startsWith('__Host-auth.tx='))).toMatch(/; secure/i);

    const { redirect } = await signInAtIdp(start.res.headers.get('location')!);
    expect(redirect.origin).toBe(appProxy.url);
    const idpCookies = idpProxy.setCookies.filter((line) => /^_(session|interaction|interaction_resume)=/.test(line));
    expect(new Set(idpCookies.map((line) => line.split('=')[0]))).toEqual(new Set(['_session', '_interaction', '_interaction_resume']));
    for (const line of idpCookies) expect(line).toMatch(/; secure/i);

    const callback = await browser.get(redirect.pathname + redirect.search);
    expect(callback.res.status).toBe(302);
    const authCookie = callback.lines.find((line) => line.startsWith('__Host-auth='));
    expect(authCookie).toMatch(/; secure/i);
    expect(authCookie).toMatch(/; path=\//i);
    expect(authCookie).not.toMatch(/; domain=/i);

    const refreshes = idp.refreshCalls();
    const about = await browser.get('/about');
    expect(about.res.status).toBe(200);
    expect(about.body).toContain('Bob Smith');
    expect(idp.refreshCalls()).toBe(refreshes);

    clock.advance(31_000);
    const renewed = await browser.get('/about');
    expect(renewed.res.status).toBe(200);
    expect(idp.refreshCalls()).toBe(refreshes + 1);
    expect(renewed.lines.find((line) => line.startsWith('__Host-auth='))).toMatch(/; secure/i);
  });
});
