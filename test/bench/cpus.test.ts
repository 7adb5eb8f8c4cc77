import { expect, test } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { readlinkSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { affinityList, spinIdleCpus } from '../../bench/cpus.js';
import { eventually } from '../helpers/eventually.js';

const CPUS = fileURLToPath(new URL('../../bench/cpus.ts', import.meta.url));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** The process runs this Node binary (comm is no help: Node 24 names its main thread MainThread). */
const runsNode = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`) === realpathSync(process.execPath);
  } catch {
    return false;
  }
};
/** Every pid has exited (within 2 s): a killed process is reaped a moment later. */
const gone = (pids: number[]) => eventually(() => !pids.some(alive), { everyMs: 20 });

test('the CPUs taskset prints are read as a list, ranges expanded', () => {
  expect(affinityList("pid 42's current affinity list: 0,1\n")).toEqual([0, 1]);
  expect(affinityList("pid 42's current affinity list: 0,2-4,7")).toEqual([0, 2, 3, 4, 7]);
  expect(affinityList("pid 42's current affinity list: 3")).toEqual([3]);
});

test('anything else taskset might print is refused, not read as some list', () => {
  for (const printed of ['', 'taskset: failed to get pid 42\'s affinity: No such process', "pid 42's current affinity list: ", "pid 42's current affinity list: 0-x", "pid 42's current affinity list: 4-2"]) {
    expect(() => affinityList(printed)).toThrow(/unexpected/);
  }
});

test('a spinner per CPU, at idle priority and on that CPU alone, until stopped', async () => {
  const spinners = spinIdleCpus();
  try {
    const cpus = affinityList(execFileSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' }));
    expect(spinners.pids).toHaveLength(cpus.length);
    // chrt and taskset exec what they run: each pid ends up as the spinning node process.
    expect(await eventually(() => spinners.pids.every(runsNode))).toBe(true);
    for (const [i, pid] of spinners.pids.entries()) {
      expect(execFileSync('chrt', ['-p', String(pid)], { encoding: 'utf8' })).toMatch(/policy: SCHED_IDLE/);
      expect(affinityList(execFileSync('taskset', ['-p', '-c', String(pid)], { encoding: 'utf8' }))).toEqual([cpus[i]]);
    }
  } finally {
    spinners.stop();
  }
  expect(await gone(spinners.pids)).toBe(true);
});

// The bench's watchdog ends it with process.exit, and a crash or SIGKILL runs no exit hook at all.
test('spinners end with the process that started them, even one killed without a chance to stop them', async () => {
  const script = `const { spinIdleCpus } = await import(${JSON.stringify(CPUS)}); console.log(JSON.stringify(spinIdleCpus().pids)); process.kill(process.pid, 'SIGKILL');`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]).catch((error: { signal?: string; stdout?: string }) => {
    if (error.signal !== 'SIGKILL') throw error;
    return { stdout: error.stdout ?? '' };
  });
  const pids = JSON.parse(stdout) as number[];
  expect(pids.length).toBeGreaterThan(0);
  expect(await gone(pids)).toBe(true);
});
