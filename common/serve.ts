import { type RequestListener, createServer } from 'node:http';
import { ConfigError } from './env.js';

export interface Service {
  handler: RequestListener;
  port: number;
  /** Printed once listening. */
  banner: string;
  close?: () => Promise<void>;
}

/** Every service's main: build, listen, stop cleanly on Ctrl-C / SIGTERM, and explain a bad configuration in one line. */
export function serve(name: string, build: () => Promise<Service>): void {
  build()
    .then(async ({ handler, port, banner, close }) => {
      const server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, resolve));
      console.log(`${name}: ${banner}`);
      const stop = () => {
        server.close(() => void (close ?? (async () => {}))().then(() => process.exit(0)));
        server.closeAllConnections();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    })
    .catch((error: unknown) => {
      console.error(error instanceof ConfigError ? `${name}: invalid configuration: ${error.message}` : error);
      process.exit(1);
    });
}
