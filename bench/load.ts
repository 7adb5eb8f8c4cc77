import autocannon from 'autocannon';
import { median, percentile } from './stats.js';

/**
 * HTTP load from this process with autocannon: fixed connections, no pipelining, every response must be 2xx.
 * Latencies come from autocannon's per-response timings (its own histogram rounds to whole milliseconds).
 */

export interface Target {
  name: string;
  url: string;
  headers?: Record<string, string>;
}

export interface Load {
  requests: number;
  rps: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
}

export interface Plan {
  warmupS: number;
  rounds: number;
  roundS: number;
  connections: number;
}

/** Full mode: more, shorter rounds than 5 × 5 s — the same time, and the median shrugs off more bursts of noise from other work on the machine. */
export const plan = (quick: boolean): Plan =>
  quick ? { warmupS: 0.5, rounds: 2, roundS: 1, connections: 10 } : { warmupS: 3, rounds: 8, roundS: 3, connections: 10 };

export async function cannon(target: Target, seconds: number, connections: number): Promise<Load> {
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const options = { url: target.url, headers: target.headers, duration: seconds, connections, pipelining: 1 };
    const instance = autocannon(options, (error, done) => (error ? reject(error) : resolve(done)));
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${target.name}: ${failed} failed requests out of ${result.requests.total}`);
  return { requests: result.requests.total, rps: result.requests.total / result.duration, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/**
 * Warm every target up, then run the rounds interleaved (a, b, c, a, b, c…) so machine noise spreads over all
 * of them alike. Returns every round of every target: callers take medians, of figures or of per-round ratios.
 */
export async function interleaved(targets: readonly Target[], { warmupS, rounds, roundS, connections }: Plan): Promise<Map<string, Load[]>> {
  for (const target of targets) await cannon(target, warmupS, connections);
  const runs = new Map<string, Load[]>(targets.map((target) => [target.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) runs.get(target.name)!.push(await cannon(target, roundS, connections));
  }
  return runs;
}

export function medianLoad(loads: readonly Load[]): Load {
  return { requests: median(loads.map((l) => l.requests)), rps: median(loads.map((l) => l.rps)), p50: median(loads.map((l) => l.p50)), p99: median(loads.map((l) => l.p99)) };
}

/** Median over rounds of x/y requests per second, each ratio taken within one round (neighbours in time). */
export function medianRatio(x: readonly Load[], y: readonly Load[]): number {
  return median(x.map((load, round) => load.rps / y[round]!.rps));
}
