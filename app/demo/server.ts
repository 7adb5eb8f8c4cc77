/** `npm run app`: the BFF on its own. */
import { serve } from '../../common/serve.js';
import { readAppConfig } from '../config.js';
import { createApp } from './app.js';

serve('app', async () => {
  const config = readAppConfig();
  const { app, close } = await createApp(config);
  return { handler: app, port: config.port, banner: `listening on ${config.baseUrl.href} (renewals ${config.redisUrl ? 'shared on Redis' : 'in-process'})`, close };
});
