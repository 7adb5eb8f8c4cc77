import { execFileSync } from 'node:child_process';

/**
 * Servers under test on one CPU, the load generator (this process) on another, with util-linux's `taskset`:
 * neither migrates and they never share a core, which halves the spread of the throughput ratios on a shared VM.
 * Where it cannot pin (no taskset, fewer than two CPUs), the bench runs unpinned and says why.
 */
export interface Pinning {
  /** What RESULTS.md says about it. */
  note: string;
  /** Every thread of the server process `pid` onto the servers' CPU (threads it starts later inherit it). */
  server(pid: number): void;
  /** This process back on every CPU it had. */
  release(): void;
}

const taskset = (...args: string[]) => execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

/** The CPUs in what `taskset -p -c` prints: "pid 42's current affinity list: 0,2-4" → [0, 2, 3, 4]. */
export function affinityList(printed: string): number[] {
  return printed
    .slice(printed.lastIndexOf(':') + 1)
    .trim()
    .split(',')
    .flatMap((range) => {
      const [from, to = from] = range.split('-').map(Number) as [number, number?];
      return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
    });
}

const unpinned = (why: string): Pinning => ({ note: `Not pinned to CPUs: ${why}.`, server() {}, release() {} });

export function pinCpus(): Pinning {
  let cpus: number[];
  try {
    cpus = affinityList(taskset('-p', '-c', String(process.pid)));
  } catch {
    return unpinned('`taskset` (util-linux) did not answer');
  }
  if (cpus.length < 2) return unpinned('this process may use only one CPU');
  const [serverCpu, loadCpu] = cpus as [number, number];
  try {
    taskset('-a', '-p', '-c', String(loadCpu), String(process.pid));
  } catch {
    return unpinned('`taskset` may not set this process\'s CPUs');
  }
  return {
    note: `Pinned with \`taskset\`: every server process on CPU ${serverCpu}, the load generator (the parent process) on CPU ${loadCpu}.`,
    server: (pid) => void taskset('-a', '-p', '-c', String(serverCpu), String(pid)),
    release: () => void taskset('-a', '-p', '-c', cpus.join(','), String(process.pid)),
  };
}
