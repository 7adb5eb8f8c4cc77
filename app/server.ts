import { ConfigError } from '../common/env.js';
import { readAppConfig } from './config.js';
import { createApp } from './index.js';

try {
  const config = readAppConfig();
  const { app, close } = await createApp(config);
  const server = app.listen(config.port, () => console.log(`app listening on ${config.baseUrl.href} (port ${config.port})`));
  const stop = () => server.close(() => void close().then(() => process.exit(0)));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`app: invalid configuration: ${error.message}`);
  process.exit(1);
}
