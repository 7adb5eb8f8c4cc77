/** A private redis-server for fault tests: started on a free port, then killed, restarted empty, paused and resumed at will. Jest-free, for scripts too. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export const REDIS_SERVER_BINARY = '/usr/bin/redis-server';

/** False, with a visible SKIPPED line naming `what`, when redis-server is not installed. */
export function redisServerInstalled(what: string): boolean {
  if (existsSync(REDIS_SERVER_BINARY)) return true;
  console.warn(`SKIPPED: ${what} needs ${REDIS_SERVER_BINARY} (Debian package redis-server)`);
  return false;
}

export interface TestRedisServer {
  url: string;
  port: number;
  /** SIGKILL: connections drop at once, every key is gone. */
  kill(): Promise<void>;
  /** A new, empty server on the same port (kills the running one first). */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers — a hung server. */
  pause(): void;
  /** SIGCONT: a paused server answers again, with what it held. */
  resume(): void;
  /** Kill and remove the data directory. */
  stop(): Promise<void>;
}

/** Resolves when the server says it accepts connections; rejects if it exits or stays silent for 5 s. */
function launch(port: number, dir: string, extra: string[]): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...extra];
  const child = spawn(REDIS_SERVER_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server on ${port} did not start: ${output.slice(-500)}`)), 5000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', (code) => fail(new Error(`redis-server on ${port} exited with ${code}: ${output.slice(-500)}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('Ready to accept connections')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout!.removeAllListeners('data');
      child.stdout!.resume();
      resolve(child);
    });
  });
}

async function killChild(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Volatile unless `args` say otherwise (e.g. `['--appendonly', 'yes', '--appendfsync', 'always']`, kept across restarts). */
export async function startRedisServer({ args = [] }: { args?: string[] } = {}): Promise<TestRedisServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'redis-test-'));
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port, dir, args);
  const signal = (name: NodeJS.Signals) => {
    if (child?.exitCode === null && child.signalCode === null) child.kill(name);
  };
  // A process that exits without stopping it (the bench's watchdog, say) must not leave the server running.
  const orphaned = () => signal('SIGKILL');
  process.on('exit', orphaned);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async kill() {
      await killChild(child);
      child = undefined;
    },
    async restart() {
      await killChild(child);
      child = await launch(port, dir, args);
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async stop() {
      process.off('exit', orphaned);
      await killChild(child);
      child = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
