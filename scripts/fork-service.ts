import { type ChildProcess, fork } from 'node:child_process';

/**
 * A service in a child process (bench and soak: the load generator must not share the server's event loop).
 * It announces its port with `{ type: ready, data: port }`; every call `{ type, data }` is answered by `{ type, data }`.
 */
export interface ChildService {
  port: number;
  pid: number;
  call<T = Record<string, number>>(type: string, data?: unknown): Promise<T>;
  stop(): Promise<void>;
}

function reply(child: ChildProcess, type: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; data?: unknown }) => {
      if (message.type !== type) return;
      child.off('message', onMessage).off('exit', onExit);
      resolve(message.data);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`child process exited (${code}) before answering "${type}"`));
    };
    child.on('message', onMessage).once('exit', onExit);
  });
}

export async function forkService(entry: string, args: string[], { ready = 'ready', execArgv = [] as string[] } = {}): Promise<ChildService> {
  const child = fork(entry, args, { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = (await reply(child, ready)) as number;
  return {
    port,
    pid: child.pid!,
    async call<T>(type: string, data?: unknown) {
      const answer = reply(child, type);
      child.send({ type, data });
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
