import { expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { eventually } from '../helpers/eventually.js';
import { redisServerInstalled } from '../helpers/redis-server.js';
import { redisReachable } from '../helpers/redis.js';

const HELPER = fileURLToPath(new URL('../helpers/redis-server.ts', import.meta.url));
const answers = (port: number) => redisReachable(`redis://127.0.0.1:${port}`);

// The bench's watchdog ends its process with process.exit: the private redis-server of the (b-redis) row went on running.
test('a process that exits without stopping its redis-server leaves none running', async () => {
  if (!redisServerInstalled('the orphaned redis-server check')) return;
  const script = `const { startRedisServer } = await import(${JSON.stringify(HELPER)}); const server = await startRedisServer(); console.log(server.port); process.exit(3);`;
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  const { stdout } = await run.catch((error: { code?: number; stdout?: string }) => {
    if (error.code !== 3) throw error;
    return { stdout: error.stdout ?? '' };
  });
  const port = Number(stdout.trim());
  expect(port).toBeGreaterThan(0);
  // SIGKILL is sent as the process exits; the kernel closes the port a moment later.
  expect(await eventually(async () => !(await answers(port)))).toBe(true);
});
