/** `npm run idp`: the OpenID Provider on its own. */
import { serve } from '../common/serve.js';
import { readIdpConfig } from './config.js';
import { createIdp } from './app.js';

serve('idp', async () => {
  const config = readIdpConfig();
  const { app, close } = await createIdp(config);
  return { handler: app, port: config.port, banner: `issuer ${config.issuer}, ${config.store} store`, close };
});
