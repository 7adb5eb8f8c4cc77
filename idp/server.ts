/** `npm run idp`: the OpenID Provider on its own. */
import { createServer } from 'node:http';
import { ConfigError } from '../common/env.js';
import { createLogger } from '../common/log.js';
import { readIdpConfig } from './config.js';
import { createIdp } from './index.js';

async function main() {
  const config = readIdpConfig();
  const logger = createLogger('idp', config.logLevel);
  const idp = await createIdp(config, { logger });
  const server = createServer(idp.app);
  await new Promise<void>((resolve) => server.listen(config.port, resolve));
  logger.info('OpenID Provider listening', { url: `http://localhost:${config.port}`, issuer: config.issuer, store: config.store });

  const stop = () => {
    logger.info('shutting down');
    server.close(() => void idp.close().then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exit(1);
});
