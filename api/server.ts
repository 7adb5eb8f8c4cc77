/** `npm run api`: the resource server on its own. */
import { serve } from '../common/serve.js';
import { readApiConfig } from './config.js';
import { createApi } from './app.js';

serve('api', async () => {
  const config = readApiConfig();
  return { handler: createApi(config), port: config.port, banner: `listening on http://localhost:${config.port} (${config.validation})` };
});
