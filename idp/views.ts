import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';

const VIEWS = fileURLToPath(new URL('../views/idp', import.meta.url));
export const STATIC_DIR = path.join(VIEWS, 'static');

/** One renderer for the Express routes and for oidc-provider's page hooks (which run on Koa). */
export function renderView(name: 'login' | 'message' | 'logout' | 'signed-out', locals: Record<string, unknown>): Promise<string> {
  return ejs.renderFile(path.join(VIEWS, `${name}.ejs`), locals);
}
