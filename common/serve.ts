import { type RequestListener, type Server, createServer } from 'node:http';
import { ConfigError } from './errors.js';

export interface Service {
  handler: RequestListener;
  port: number;
  /** Printed once listening. */
  banner: string;
  close?: () => Promise<void>;
}

/**
 * Every service's HTTP limits, set on purpose: a client that sends its request slowly, or holds an idle connection,
 * loses it within seconds instead of holding a descriptor. Connection counts per client belong to the reverse proxy.
 */
export const SERVER_LIMITS = {
  /** The request line and headers must all arrive within this (slow loris). */
  headersTimeoutMs: 10_000,
  /** The whole request, body included; our bodies are small forms. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection closes after this: a proxy's upstream idle timeout must be shorter. */
  keepAliveTimeoutMs: 5_000,
  /** How often the two timeouts above are enforced (Node's default is 30 s, which would stretch them). */
  checkIntervalMs: 1_000,
  /** Then `Connection: close`, so no client pins one connection for ever. */
  maxRequestsPerSocket: 1000,
};

export function createHttpServer(handler: RequestListener, limits = SERVER_LIMITS): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    handler,
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  return server;
}

/** How long a stopping service lets requests in flight finish. */
const DRAIN_MS = 3000;

/** The message a parent process (`npm run demo`) receives once the service listens: `{ type: 'ready', data: port }`. */
export const READY = 'ready';

/**
 * Every service's main: build, listen, stop cleanly on Ctrl-C / SIGTERM. A bad configuration or a port that cannot be
 * listened on ends the process with status 1 and one line saying why.
 */
export function serve(name: string, build: () => Promise<Service>): void {
  build()
    .then(async ({ handler, port, banner, close }) => {
      const server = createHttpServer(handler);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, resolve));
      console.log(`${name}: ${banner}`);
      process.send?.({ type: READY, data: port });
      const stop = () => {
        server.close(() => void (close ?? (async () => {}))().then(() => process.exit(0)));
        server.closeIdleConnections();
        // Requests in flight get a moment to finish: cutting a renewal would lose the new cookie it carries.
        setTimeout(() => server.closeAllConnections(), DRAIN_MS).unref();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((error: unknown) => {
      console.error(`${name}: ${failure(error)}`);
      process.exit(1);
    });
}

function failure(error: unknown): string {
  if (error instanceof ConfigError) return `invalid configuration: ${error.message}`;
  const { code, port } = (error ?? {}) as { code?: string; port?: number };
  if (code === 'EADDRINUSE') return `port ${port} is already in use`;
  if (code === 'EACCES') return `no permission to listen on port ${port}`;
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
