import { fileURLToPath } from 'node:url';
import { forkService } from '../scripts/fork-service.js';

/**
 * Parent side of servers.ts: start a server process, learn its URL, call it over IPC, stop it.
 * Every call is `{ type }` and is answered by `{ type, data }` of the same type.
 */

const SERVERS = fileURLToPath(new URL('./servers.ts', import.meta.url));

export interface ServerProcess {
  url: string;
  pid: number;
  call<T = Record<string, number>>(type: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startServer(kind: string, options: Record<string, string> = {}): Promise<ServerProcess> {
  const service = await forkService(SERVERS, [kind, JSON.stringify(options)]);
  return { url: `http://127.0.0.1:${service.port}`, pid: service.pid, call: (type) => service.call(type), stop: service.stop };
}
