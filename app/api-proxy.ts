import express, { type RequestHandler, Router } from 'express';
import { callerView, errorClass } from '../common/errors.js';
import type { Logger } from '../common/log.js';

/** A path that would leave the configured API (`..`, an absolute URL, another host): never called. */
export class ApiDestinationError extends errorClass(400, 'invalid_request', true) {}

/** `<apiUrl>/api/<path>`, refused unless it stays under the API's `/api/`. */
export function apiTarget(apiUrl: URL, path: string): URL {
  const base = new URL('api/', apiUrl.href.replace(/\/?$/, '/'));
  const target = URL.parse(path.replace(/^\/+/, ''), base.href);
  if (!target || target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) throw new ApiDestinationError('unknown API destination');
  return target;
}

/** Calls the API with the user's access token and nothing else of the browser's request: no cookie, no other header. */
export async function callApi(apiUrl: URL, path: string, accessToken: string, init: { method?: string; body?: Buffer; contentType?: string; timeoutMs: number }) {
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json' };
  if (init.contentType) headers['content-type'] = init.contentType;
  return fetch(apiTarget(apiUrl, path), { method: init.method ?? 'GET', headers, body: init.body, signal: AbortSignal.timeout(init.timeoutMs), redirect: 'manual' });
}

/**
 * GET|POST /bff/api/* for browser scripts: the BFF attaches the access token, never the cookie.
 * `X-CSRF: 1` cannot be sent cross-site without a CORS preflight we never grant, so it stops CSRF.
 */
export function apiProxy(apiUrl: URL, timeoutMs: number, logger: Logger): Router {
  const router = Router();
  const guard: RequestHandler = (req, res, next) => {
    if (req.get('x-csrf') !== '1') return void res.status(403).json({ error: 'csrf', error_description: 'the X-CSRF: 1 header is required' });
    // JSON, not a redirect to /login: the caller is a script, which cannot follow a sign-in.
    if (!req.auth) return void res.status(401).json({ error: 'unauthenticated', error_description: 'sign in first' });
    next();
  };
  const forward: RequestHandler = async (req, res) => {
    res.set('Cache-Control', 'no-store');
    try {
      // req.url is relative to the mount point and keeps the query string.
      const upstream = await callApi(apiUrl, req.url, req.auth!.accessToken, {
        method: req.method,
        body: Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined,
        contentType: req.get('content-type'),
        timeoutMs,
      });
      res.status(upstream.status).type(upstream.headers.get('content-type') ?? 'application/json');
      const challenge = upstream.headers.get('www-authenticate');
      if (challenge) res.set('WWW-Authenticate', challenge);
      res.send(Buffer.from(await upstream.arrayBuffer()));
    } catch (error) {
      if (error instanceof ApiDestinationError) {
        const { status, code, message } = callerView(error);
        return void res.status(status).json({ error: code, error_description: message });
      }
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      logger.warn('API call failed', { error, path: req.path });
      res.status(timedOut ? 504 : 502).json({ error: 'bad_gateway', error_description: timedOut ? 'the API did not answer in time' : 'the API cannot be reached' });
    }
  };
  router.get('/{*path}', guard, forward);
  router.post('/{*path}', guard, express.raw({ type: () => true, limit: '100kb' }), forward);
  router.all('/{*path}', (_req, res) => void res.status(405).set('Allow', 'GET, HEAD, POST').json({ error: 'method_not_allowed' }));
  return router;
}
