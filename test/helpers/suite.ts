/** The set-up the app suites share (Jest only). */
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { startTestApp } from './app.js';
import { type TestIdp, startTestIdp } from './idp.js';

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
