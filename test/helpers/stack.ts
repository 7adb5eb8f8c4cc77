import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readApiConfig } from '../../api/config.js';
import { createApi } from '../../api/app.js';
import { type AppConfig, readAppConfig } from '../../app/config.js';
import { createApp } from '../../app/demo/app.js';
import { silentLogger } from '../../common/log.js';
import { readIdpConfig } from '../../idp/config.js';
import type { AccountRecord } from '../../idp/accounts.js';
import { createIdp } from '../../idp/app.js';

export interface Stack {
  idpUrl: string;
  appUrl: string;
  /** The app's config, cookie keys included (to open its cookies). */
  appConfig: AppConfig;
  close(): Promise<void>;
}

export interface StackOptions {
  tokenTtl: number;
  /** Written as the IdP's accounts file; the built-in bob when unset. */
  accounts?: readonly AccountRecord[];
  /** The app's clock: a test moves it past half-life instead of waiting. */
  now?: () => number;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * IdP, app and API on free loopback ports, wired to each other as `npm run demo` wires them, with short tokens.
 * Sockets are bound first: each side's config needs the other's URL.
 */
export async function startStack({ tokenTtl, accounts, now }: StackOptions): Promise<Stack> {
  const idpServer = createServer();
  const appServer = createServer();
  const apiServer = createServer();
  const idpUrl = `http://127.0.0.1:${await listen(idpServer)}`;
  const appUrl = `http://localhost:${await listen(appServer)}`;
  const apiUrl = `http://127.0.0.1:${await listen(apiServer)}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'e2e-idp-'));
  if (accounts) await writeFile(path.join(dataDir, 'accounts.json'), JSON.stringify(accounts));
  const ttl = String(tokenTtl);
  const env = { IDP_ISSUER: idpUrl, APP_BASE_URL: appUrl, API_BASE_URL: apiUrl, IDP_DATA_DIR: dataDir, IDP_STORE: 'memory', LOG_LEVEL: 'error' };
  const idp = await createIdp(
    readIdpConfig({ ...env, IDP_ACCESS_TOKEN_TTL: ttl, IDP_REFRESH_TOKEN_TTL: ttl, IDP_ID_TOKEN_TTL: ttl }),
    { logger: silentLogger },
  );
  const appConfig = readAppConfig(env);
  const app = await createApp(appConfig, { logger: silentLogger, now });
  idpServer.on('request', idp.app);
  appServer.on('request', app.app);
  apiServer.on('request', createApi(readApiConfig(env), { logger: silentLogger }));
  return {
    idpUrl,
    appUrl,
    appConfig,
    async close() {
      for (const server of [idpServer, appServer, apiServer]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await app.close();
      await idp.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
