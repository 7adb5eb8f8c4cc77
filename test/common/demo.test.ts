import { afterEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Three services starting through tsx; far more than they need, and the test still ends on its own. */
const BOUND_MS = 25_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A port held by someone else, on every interface, as another program would hold it. */
async function occupiedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface DemoRun {
  /** Resolves with the exit status (the signal's name if killed) and everything printed. */
  exited: Promise<{ code: number | string; stdout: string; stderr: string }>;
  /** Resolves once stdout contains `text`. */
  printed(text: string): Promise<void>;
  stop(): void;
}

/** `npm run demo` as a child process, in a clean environment: memory store, a temporary data directory, the given ports. */
async function runDemo(ports: { idp: number; app: number; api: number }, overrides: Record<string, string> = {}): Promise<DemoRun> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'demo-test-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    IDP_STORE: 'memory',
    IDP_DATA_DIR: dataDir,
    IDP_PORT: String(ports.idp),
    IDP_ISSUER: `http://localhost:${ports.idp}`,
    APP_PORT: String(ports.app),
    APP_BASE_URL: `http://localhost:${ports.app}`,
    API_PORT: String(ports.api),
    API_BASE_URL: `http://localhost:${ports.api}`,
    IDP_API_RESOURCE: `http://localhost:${ports.api}/`,
    LOG_LEVEL: 'warn',
    ...overrides,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const wake of waiters) wake();
  });
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', stdout, stderr })),
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), BOUND_MS);
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    clearTimeout(guard);
  });
  return {
    exited,
    printed: (text) =>
      new Promise<void>((resolve, reject) => {
        const check = () => stdout.includes(text) && resolve();
        waiters.push(check);
        check();
        void exited.then(() => reject(new Error(`demo exited before printing "${text}": ${stdout}\n${stderr}`)));
      }),
    stop: () => child.kill('SIGTERM'),
  };
}

describe('npm run demo', () => {
  test('prints the URLs it was configured with once all three listen, and stops with status 0 on SIGTERM', async () => {
    const ports = { idp: await freePort(), app: await freePort(), api: await freePort() };
    const demo = await runDemo(ports);
    await demo.printed('Ctrl-C stops all three.');
    demo.stop();
    const { code, stdout } = await demo.exited;
    expect(stdout).toContain(`OpenID Provider  http://localhost:${ports.idp}`);
    expect(stdout).toContain(`(open http://localhost:${ports.app}/about)`);
    expect(stdout).toContain(`API              http://localhost:${ports.api}`);
    expect(stdout).not.toMatch(/localhost:(3000|4000|5000)\b/);
    expect(code).toBe(0);
  }, 30_000);

  test('failure mode: a port already in use stops the demo with a non-zero status and one line saying why', async () => {
    const ports = { idp: await occupiedPort(), app: await freePort(), api: await freePort() };
    const demo = await runDemo(ports);
    const { code, stdout, stderr } = await demo.exited;
    console.log(`demo with the IdP port taken: exit ${code}; stderr: ${stderr.trim().replaceAll('\n', ' | ')}`);
    expect(code).toBe(1);
    expect(stderr).toContain(`idp: port ${ports.idp} is already in use\n`);
    expect(stderr).toContain('demo: idp stopped (exit code 1); stopping the others');
    expect(stdout).not.toContain('Ctrl-C stops all three.');
  }, 30_000);

  test('failure mode: an invalid configuration stops the demo with a non-zero status', async () => {
    const demo = await runDemo({ idp: await freePort(), app: await freePort(), api: await freePort() }, { IDP_STORE: 'postgres' });
    const { code, stderr } = await demo.exited;
    expect(code).toBe(1);
    expect(stderr).toContain('idp: invalid configuration: IDP_STORE must be one of sqlite, memory, redis, got "postgres"\n');
  }, 30_000);
});
