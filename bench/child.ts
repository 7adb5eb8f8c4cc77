import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Parent side of servers.ts: start a server process, learn its URL, call it over IPC, stop it.
 * Every call is `{ type }` and is answered by `{ type, data }` of the same type.
 */

const SERVERS = fileURLToPath(new URL('./servers.ts', import.meta.url));

export interface ServerProcess {
  url: string;
  call<T = Record<string, number>>(type: string): Promise<T>;
  stop(): Promise<void>;
}

interface Reply {
  type: string;
  data?: unknown;
}

function reply(child: ChildProcess, type: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Reply) => {
      if (message.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(message.data);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`server process exited (${code}) before answering "${type}"`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startServer(kind: string, options: Record<string, string> = {}): Promise<ServerProcess> {
  const child = fork(SERVERS, [kind, JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = (await reply(child, 'ready')) as number;
  return {
    url: `http://127.0.0.1:${port}`,
    async call<T>(type: string) {
      const answer = reply(child, type);
      child.send({ type });
      return (await answer) as T;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
