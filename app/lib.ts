/** The library: what another Express app imports to mount the BFF (`import { createBffAuth } from 'oidc-bff-token-renewal'`). */
export { type BffAuth, type BffDeps, createBffAuth } from './bff.js';
export { type AuthContext, requireAuth } from './renewal/middleware.js';
export { type AppConfig, readAppConfig } from './config.js';
