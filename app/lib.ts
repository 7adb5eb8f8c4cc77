/** The library: what another Express app imports to mount the BFF (`import { createBffAuth } from 'oidc-bff-token-renewal'`). */
export { type BffAuth, type BffDeps, createBffAuth } from './bff.js';
export { type AuthContext, requireAuth } from './renewal/middleware.js';
export { type AppConfig, readAppConfig } from './config.js';
export { PageError } from './errors.js';
// For pages that show the session's lifecycle or call the API server-side, as the demo's About page does.
export { halfLife, shouldRenew } from './renewal/policy.js';
export { callApi } from './api-proxy.js';
export { type CallerView, ServiceError, callerView } from '../common/errors.js';
