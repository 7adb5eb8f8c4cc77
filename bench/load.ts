import autocannon from 'autocannon';
import { type Mode, median, percentile, sleep } from './stats.js';

/**
 * HTTP load from this process with autocannon: fixed connections, no pipelining, every response must be 2xx.
 * Latencies come from autocannon's per-response timings (its own histogram rounds to whole milliseconds).
 */

export interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** CPU µs the server process has used so far (servers.ts `cpu`). */
  cpu?: () => Promise<number>;
}

export interface Load {
  requests: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  /** The server's CPU time per request served (NaN without `cpu`): its cost, less sensitive than throughput to other work on the machine. */
  cpuUs: number;
}

export interface Plan {
  warmupS: number;
  roundS: number;
  connections: number;
  /** Rounds per block: each block runs on fresh server processes. */
  blockRounds: number;
  /** Blocks before the first look at the figures, and the most there will be. */
  minBlocks: number;
  maxBlocks: number;
  /** The figures are looked at every this many rounds (a whole number of blocks), from minBlocks on. */
  lookRounds: number;
  /** Seeds the order of the targets in each round (printed in RESULTS.md, so a run can be repeated). */
  seed: number;
}

/**
 * Short rounds, many of them: the interval of a median narrows with the square root of the rounds. Two identical servers
 * measured back to back differ as much in slots of 0.25 s as of 1 s (the machine's speed changes between slots, not within), so slots are short and
 * rounds many: 32 to 96, looked at every 16, in blocks of 8 on fresh processes. On a shared VM identical processes' medians
 * differ by up to 10 % for their whole life, and 4 to 12 sets of processes average that out better than 2 to 6 did (with
 * blocks of 8 rounds of 0.5 s, the control b2 / b once read 1.08, 1.02–1.20). At most 96 rounds: the bench near 12 minutes.
 */
export const plan = ({ quick, seed }: Mode): Plan =>
  quick
    ? { warmupS: 0.5, roundS: 0.5, connections: 10, blockRounds: 6, minBlocks: 1, maxBlocks: 1, lookRounds: 6, seed }
    : { warmupS: 1, roundS: 0.25, connections: 10, blockRounds: 8, minBlocks: 4, maxBlocks: 12, lookRounds: 16, seed };

/** The round counts at which the figures are looked at: every lookRounds from the end of block minBlocks on. */
export function looks({ blockRounds, minBlocks, maxBlocks, lookRounds }: Pick<Plan, 'blockRounds' | 'minBlocks' | 'maxBlocks' | 'lookRounds'>): number[] {
  const counts: number[] = [];
  for (let rounds = minBlocks * blockRounds; rounds <= maxBlocks * blockRounds; rounds += lookRounds) counts.push(rounds);
  return counts;
}

/** The server processes one block of rounds runs on. */
export interface Block<T> {
  open(): Promise<T>;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so that an order can be replayed from the seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffled(count: number, random: () => number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Between two measurements: the server just measured finishes its garbage collection on its own time, not the next one's. */
const SETTLE_MS = 100;
export const SETTLE_NOTE = `${SETTLE_MS} ms of quiet between two measurements`;

/**
 * Rounds of every step, in a fresh random order each round: whatever one measurement leaves behind on the machine
 * (a collector still running, a warm cache) lands on a different neighbour every time instead of always on the same one.
 * Each block of rounds runs on fresh server processes: two identical processes can differ by a few per cent for their
 * whole life (memory layout, compiled code), and several blocks average that out. At each look (see looks()),
 * `enough()` says whether to stop. Returns how many rounds and blocks ran.
 */
export async function inRounds<T>(steps: number, plan: Omit<Plan, 'warmupS' | 'roundS' | 'connections'>, block: Block<T>, step: (servers: T, index: number) => Promise<void>, enough: () => boolean): Promise<{ rounds: number; blocks: number }> {
  const random = seeded(plan.seed);
  let rounds = 0;
  for (let blocks = 1; blocks <= plan.maxBlocks; blocks++) {
    const servers = await block.open();
    try {
      for (let i = 0; i < plan.blockRounds; i++, rounds++) {
        for (const index of shuffled(steps, random)) {
          await step(servers, index);
          await sleep(SETTLE_MS);
        }
      }
    } finally {
      await block.close();
    }
    const look = blocks >= plan.minBlocks && (rounds - plan.minBlocks * plan.blockRounds) % plan.lookRounds === 0;
    if (blocks === plan.maxBlocks || (look && enough())) return { rounds, blocks };
  }
  return { rounds, blocks: plan.maxBlocks };
}

export async function cannon(target: Target, seconds: number, connections: number): Promise<Load> {
  const latencies: number[] = [];
  const cpuBefore = await target.cpu?.();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    // autocannon checks its deadline once per sample: samples of 50 ms let a round last a quarter of a second.
    const options = { url: target.url, headers: target.headers, duration: seconds, connections, pipelining: 1, sampleInt: 50 };
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
  const cpuUs = cpuBefore === undefined ? Number.NaN : ((await target.cpu!()) - cpuBefore) / result.requests.total;
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${target.name}: ${failed} failed requests out of ${result.requests.total}`);
  return { requests: result.requests.total, rps: result.requests.total / result.duration, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuUs };
}

/**
 * Interleaved rounds (see inRounds) over the targets each block opens, every target warmed up first in each block,
 * until `enough` or maxRounds. Returns every round of every target: callers take medians, of figures or of per-round ratios.
 */
export async function interleaved(names: readonly string[], block: Block<readonly Target[]>, { warmupS, roundS, connections, ...rounds }: Plan, enough: (runs: Map<string, Load[]>) => boolean): Promise<{ runs: Map<string, Load[]>; blocks: number }> {
  const runs = new Map<string, Load[]>(names.map((name) => [name, []]));
  const warmed: Block<readonly Target[]> = {
    async open() {
      const targets = await block.open();
      for (const target of targets) await cannon(target, warmupS, connections);
      return targets;
    },
    close: () => block.close(),
  };
  const { blocks } = await inRounds(names.length, rounds, warmed, async (targets, i) => void runs.get(targets[i]!.name)!.push(await cannon(targets[i]!, roundS, connections)), () => enough(runs));
  return { runs, blocks };
}

export function medianLoad(loads: readonly Load[]): Load {
  const of = (figure: (load: Load) => number) => median(loads.map(figure));
  return { requests: of((l) => l.requests), rps: of((l) => l.rps), p50: of((l) => l.p50), p99: of((l) => l.p99), cpuUs: of((l) => l.cpuUs) };
}

/** x/y requests per second, round by round: each ratio of two measurements made within the same few seconds. */
export function ratios(x: readonly Load[], y: readonly Load[]): number[] {
  return x.map((load, round) => load.rps / y[round]!.rps);
}
