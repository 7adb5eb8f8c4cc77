import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readApiConfig } from '../../api/config.js';
import { createApi } from '../../api/index.js';
import { readAppConfig } from '../../app/config.js';
import { createApp } from '../../app/index.js';
import { silentLogger } from '../../common/log.js';
import { readIdpConfig } from '../../idp/config.js';
import { createIdp } from '../../idp/index.js';

export interface Stack {
  idpUrl: string;
  appUrl: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * IdP, app and API on free loopback ports, wired to each other as `npm run demo` wires them, with short tokens.
 * Sockets are bound first: each side's config needs the other's URL.
 */
export async function startStack({ tokenTtl }: { tokenTtl: number }): Promise<Stack> {
  const idpServer = createServer();
  const appServer = createServer();
  const apiServer = createServer();
  const idpUrl = `http://127.0.0.1:${await listen(idpServer)}`;
  const appUrl = `http://localhost:${await listen(appServer)}`;
  const apiUrl = `http://127.0.0.1:${await listen(apiServer)}`;
  const dataDir = await mkdtemp(path.join(tmpdir(), 'e2e-idp-'));
  const ttl = String(tokenTtl);
  const env = { IDP_ISSUER: idpUrl, APP_BASE_URL: appUrl, API_BASE_URL: apiUrl, IDP_DATA_DIR: dataDir, IDP_STORE: 'memory', LOG_LEVEL: 'error' };
  const idp = await createIdp(
    readIdpConfig({ ...env, IDP_ACCESS_TOKEN_TTL: ttl, IDP_REFRESH_TOKEN_TTL: ttl, IDP_ID_TOKEN_TTL: ttl }),
    { logger: silentLogger },
  );
  const app = await createApp(readAppConfig(env), { logger: silentLogger });
  idpServer.on('request', idp.app);
  appServer.on('request', app.app);
  apiServer.on('request', createApi(readApiConfig(env), { logger: silentLogger }));
  return {
    idpUrl,
    appUrl,
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
