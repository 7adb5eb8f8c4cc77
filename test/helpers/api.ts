/** The API on a real loopback port (the BFF calls it over HTTP), wired to a test IdP. */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiConfig } from '../../api/config.js';
import { createApi } from '../../api/app.js';
import { type Logger, silentLogger } from '../../common/log.js';
import { DEMO_URLS } from '../../common/env.js';
import { type TestClock, testClock } from './app.js';
import { type TestIdp, clientSecret } from './idp.js';

export interface TestApi {
  /** `http://127.0.0.1:<port>/`, what the BFF's `apiUrl` points at. */
  url: URL;
  config: ApiConfig;
  clock: TestClock;
  /** Introspection requests sent to the IdP so far. */
  introspections(): number;
  /** GET /api/profile with this token (no Authorization header when undefined). */
  profile(accessToken?: string, scheme?: string): Promise<{ status: number; challenge: string | null; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export function testApiConfig(idp: TestIdp, overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    port: 0,
    issuer: new URL(idp.url),
    clientId: 'api',
    clientSecret: clientSecret(idp, 'api'),
    validation: idp.config.accessTokenFormat === 'jwt' ? 'jwt' : 'introspection',
    audience: [new URL(idp.config.apiResource ?? DEMO_URLS.api).href],
    introspectionCacheMs: 5000,
    requiredScope: 'profile',
    idpTimeoutMs: 2000,
    trustProxy: ['loopback'],
    logLevel: 'error',
    ...overrides,
  };
}

export async function startTestApi(
  idp: TestIdp,
  { clock = testClock(), config = {}, logger = silentLogger }: { clock?: TestClock; config?: Partial<ApiConfig>; logger?: Logger } = {},
): Promise<TestApi> {
  const apiConfig = testApiConfig(idp, config);
  let introspections = 0;
  const countingFetch: typeof fetch = (input, init) => {
    if (String(input).includes('introspect')) introspections += 1;
    return fetch(input, init);
  };
  const server: Server = createServer(createApi(apiConfig, { now: clock.now, logger, fetch: countingFetch }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return {
    url,
    config: apiConfig,
    clock,
    introspections: () => introspections,
    async profile(accessToken, scheme = 'Bearer') {
      const res = await fetch(new URL('api/profile', url), { headers: accessToken === undefined ? {} : { authorization: `${scheme} ${accessToken}` } });
      return { status: res.status, challenge: res.headers.get('www-authenticate'), body: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
