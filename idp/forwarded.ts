import type { RequestHandler } from 'express';

/**
 * oidc-provider (Koa with `proxy` on) believes X-Forwarded-Proto, -Host and -For from any peer. Express judges them
 * against TRUST_PROXY, so Koa is handed Express's verdict only: the scheme, host and client address it trusts. Koa
 * then builds https endpoints and Secure cookies behind a TLS proxy, and nothing a client forged reaches it.
 */
export const forwardedAsTrusted: RequestHandler = (req, _res, next) => {
  const verdict = { 'x-forwarded-proto': req.protocol, 'x-forwarded-host': req.host, 'x-forwarded-for': req.ip };
  for (const [name, value] of Object.entries(verdict)) {
    if (value) req.headers[name] = value;
    else delete req.headers[name];
  }
  next();
};
