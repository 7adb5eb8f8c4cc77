import express, { type RequestHandler, Router } from 'express';
import type { Logger } from '../common/log.js';

/** Calls the API with the user's access token; the only destination is the configured API origin. */
export async function callApi(apiUrl: URL, path: string, accessToken: string, init: { method?: string; body?: Buffer; contentType?: string; timeoutMs: number }) {
  const base = new URL('api/', apiUrl);
  const target = new URL(path.replace(/^\/+/, ''), base);
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) throw new RangeError('destination outside the API');
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: 'application/json' };
  if (init.contentType) headers['content-type'] = init.contentType;
  return fetch(target, { method: init.method ?? 'GET', headers, body: init.body, signal: AbortSignal.timeout(init.timeoutMs), redirect: 'manual' });
}

/**
 * GET|POST /bff/api/* for browser scripts: the BFF attaches the access token, never the cookie.
 * `X-CSRF: 1` cannot be sent cross-site without a CORS preflight we never grant, so it stops CSRF.
 */
export function apiProxy(apiUrl: URL, timeoutMs: number, logger: Logger): Router {
  const router = Router();
  const guard: RequestHandler = (req, res, next) => {
    if (req.get('x-csrf') !== '1') return void res.status(403).json({ error: 'csrf', error_description: 'the X-CSRF: 1 header is required' });
    if (!req.auth) return void res.status(401).json({ error: 'unauthenticated', error_description: 'sign in first' });
    next();
  };
  const forward: RequestHandler = async (req, res) => {
    const path = req.path;
    try {
      const upstream = await callApi(apiUrl, path + (req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''), req.auth!.accessToken, {
        method: req.method,
        body: req.method === 'POST' && Buffer.isBuffer(req.body) ? req.body : undefined,
        contentType: req.get('content-type'),
        timeoutMs,
      });
      res.status(upstream.status).type(upstream.headers.get('content-type') ?? 'application/json');
      const challenge = upstream.headers.get('www-authenticate');
      if (challenge) res.set('WWW-Authenticate', challenge);
      res.send(Buffer.from(await upstream.arrayBuffer()));
    } catch (error) {
      if (error instanceof RangeError) return void res.status(400).json({ error: 'invalid_request', error_description: 'unknown API destination' });
      logger.warn('API call failed', { error, path });
      res.status(502).json({ error: 'bad_gateway', error_description: 'the API cannot be reached' });
    }
  };
  router.get('/*path', guard, forward);
  router.post('/*path', guard, express.raw({ type: () => true, limit: '100kb' }), forward);
  router.all('/*path', (_req, res) => void res.status(405).json({ error: 'method_not_allowed' }));
  return router;
}
