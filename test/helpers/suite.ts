/** The set-up the app suites share (Jest only). */
import { afterAll, afterEach, beforeAll, describe } from '@jest/globals';
import { startTestApp } from './app.js';
import { type TestIdp, startTestIdp } from './idp.js';
import { type TestRedisServer, redisServerInstalled, startRedisServer } from './redis-server.js';

/** One IdP for the suite, and per test the BFF apps it starts, each closed after its test. */
export function idpWithApps() {
  let idp: TestIdp | undefined;
  const apps: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(async () => {
    await idp?.close();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  return {
    idp: () => idp!,
    bff: async (options: Parameters<typeof startTestApp>[1] = {}) => {
      const started = await startTestApp(idp!, options);
      apps.push(started);
      return started;
    },
  };
}

/** A describe block with a private redis-server for its tests; skipped, with a SKIPPED line, where redis-server is not installed. */
export function describeWithRedisServer(title: string, body: (server: () => TestRedisServer) => void): void {
  (redisServerInstalled(title) ? describe : describe.skip)(title, () => {
    let server: TestRedisServer | undefined;
    beforeAll(async () => {
      server = await startRedisServer();
    });
    afterAll(async () => {
      await server?.stop();
    });
    body(() => server!);
  });
}
