import type Provider from 'oidc-provider';
import { renderView } from './views.js';

/**
 * With no session left at the IdP, oidc-provider answers a sign-out request with a form that submits itself through an
 * inline script, which the IdP's CSP blocks: a blank page. The same form is shown instead, with a button.
 */
export function readableSignOut(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'end_session' || ctx.status !== 200 || ctx.oidc.session?.accountId) return;
    const xsrf = ctx.oidc.session?.state?.secret;
    if (typeof xsrf !== 'string') return;
    ctx.body = await renderView('signed-out', { host: ctx.host, action: ctx.oidc.urlFor('end_session_confirm'), xsrf });
  });
}
