import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

/**
 * Servers under test on one logical CPU, the load generator (this process) on another, with util-linux's `taskset`:
 * neither migrates and they never run on the same CPU, which halves the spread of the throughput ratios on a shared VM.
 * Where it cannot pin (no taskset, fewer than two CPUs), the bench runs unpinned and says why.
 */
export interface Pinning {
  /** What RESULTS.md says about it. */
  note: string;
  /** Every thread of the server process `pid` onto the servers' CPU (threads it starts later inherit it). Throws if taskset fails. */
  server(pid: number): void;
  /** This process back on every CPU it had. */
  release(): void;
}

const taskset = (...args: string[]) => execFileSync('taskset', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The CPUs in what `taskset -p -c` prints: "pid 42's current affinity list: 0,2-4" → [0, 2, 3, 4]. Throws on anything else. */
export function affinityList(printed: string): number[] {
  const list = /affinity list: ([\d,-]+)\s*$/.exec(printed)?.[1];
  if (!list) throw new Error(`unexpected taskset output: ${JSON.stringify(printed)}`);
  return list.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number) as [number, number?];
    if (!Number.isInteger(from) || !Number.isInteger(to) || to! < from) throw new Error(`unexpected CPU range "${range}" in ${JSON.stringify(printed)}`);
    return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
  });
}

/** The CPUs this process may run on. Throws if taskset is missing or answers otherwise. */
const ownCpus = () => affinityList(taskset('-p', '-c', String(process.pid)));

const unpinned = (why: string): Pinning => ({ note: `Not pinned to CPUs: ${why}.`, server() {}, release() {} });
const reason = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0]! : String(error));

export function pinCpus(): Pinning {
  let cpus: number[];
  try {
    cpus = ownCpus();
  } catch (error) {
    return unpinned(`\`taskset -p\` (util-linux) did not answer as expected (${reason(error)})`);
  }
  if (cpus.length < 2) return unpinned('this process may use only one CPU');
  const [serverCpu, loadCpu] = cpus as [number, number];
  const release = () => void taskset('-a', '-p', '-c', cpus.join(','), String(process.pid));
  try {
    taskset('-a', '-p', '-c', String(loadCpu), String(process.pid));
  } catch (error) {
    // `-a` sets one thread after another: put back any it had moved.
    try {
      release();
    } catch {
      // The note below says the run is unpinned; a thread left on one CPU only makes it noisier.
    }
    return unpinned(`\`taskset\` could not set this process's CPUs (${reason(error)})`);
  }
  return {
    note: `Pinned with \`taskset\`: every server under test on CPU ${serverCpu}, the load generator (the parent process) on CPU ${loadCpu}.`,
    server: (pid) => void taskset('-a', '-p', '-c', String(serverCpu), String(pid)),
    release,
  };
}

/** Spins in slices of 20 ms, so that it still hears its parent go away (the IPC channel closing) and exits. */
const SPIN = "process.on('disconnect', () => process.exit()); const spin = () => { for (const end = Date.now() + 20; Date.now() < end; ); setImmediate(spin); }; spin();";

export interface Spinners {
  /** What RESULTS.md says about them. */
  note: string;
  pids: number[];
  /** Ends every spinner; they also end by themselves when this process does. */
  stop(): void;
}

/**
 * A busy loop at SCHED_IDLE priority (util-linux's `chrt --idle`) on each CPU of this process: it runs only when nothing
 * else wants the CPU, so no CPU ever idles. On this VM a CPU that idled between two measurements came back at another speed:
 * two identical servers measured back to back differed by sd(log ratio) 0.24–0.31 without spinners, 0.10–0.15 with them.
 */
export function spinIdleCpus(): Spinners {
  let cpus: number[];
  try {
    cpus = ownCpus();
    execFileSync('chrt', ['--idle', '0', 'true'], { stdio: 'ignore' });
  } catch (error) {
    return { note: `CPUs left to idle between measurements: \`taskset\` or \`chrt --idle\` (util-linux) failed (${reason(error)}).`, pids: [], stop() {} };
  }
  const children: ChildProcess[] = cpus.map((cpu) =>
    spawn('chrt', ['--idle', '0', 'taskset', '-c', String(cpu), process.execPath, '-e', SPIN], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
      // A spinner that could not start only makes the run noisier: said, not fatal.
      .on('error', (error) => console.warn(`idle-priority spinner on CPU ${cpu} failed: ${error.message}`)),
  );
  const stop = () => {
    for (const child of children) child.kill();
    process.off('exit', stop);
  };
  process.on('exit', stop);
  return {
    note: `A busy loop at idle priority (\`chrt --idle\`) on each of CPUs ${cpus.join(', ')} throughout: no CPU idles between two measurements, which on a VM lets it come back at another speed (they count in the load average after the run).`,
    pids: children.map((child) => child.pid!),
    stop,
  };
}
