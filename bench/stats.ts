/** Small numeric and Markdown helpers shared by every scenario. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * The median of per-round figures with a 95 % confidence interval that assumes nothing about their distribution:
 * the k-th smallest and k-th largest figures, k the largest with P(Binomial(n, ½) < k) ≤ 2.5 % (so n ≥ 6 gives one).
 * Min and max come along: the whole spread, for the reader.
 */
export interface Spread {
  median: number;
  low: number;
  high: number;
  min: number;
  max: number;
  rounds: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  // Binomial(n, ½) tail, term by term: P(X = i + 1) = P(X = i) · (n − i) / (i + 1).
  let k = 0;
  let term = 0.5 ** n;
  let tail = term;
  while (tail <= 0.025 && k < n >> 1) {
    k++;
    term *= (n - k + 1) / k;
    tail += term;
  }
  return {
    median: median(sorted),
    low: k ? sorted[k - 1]! : Number.NEGATIVE_INFINITY,
    high: k ? sorted[n - k]! : Number.POSITIVE_INFINITY,
    min: sorted[0] ?? Number.NaN,
    max: sorted[n - 1] ?? Number.NaN,
    rounds: n,
  };
}

/** A bound a figure must clear: `≥ 0.9` or `≤ 1 ms`. */
export interface Bound {
  value: number;
  atLeast: boolean;
}

/** Met only when the whole interval clears the bound; missed when it lies wholly on the wrong side; else undecided. */
export function verdict({ low, high }: Spread, { value, atLeast }: Bound): 'met' | 'missed' | 'undecided' {
  if (atLeast ? low >= value : high <= value) return 'met';
  if (atLeast ? high < value : low > value) return 'missed';
  return 'undecided';
}

/** `0.94 (0.92–0.96)`: the median and its interval. */
export const withInterval = (s: Spread, decimals = 2, unit = '') =>
  `${num(s.median, decimals)}${unit} (${num(s.low, decimals)}–${num(s.high, decimals)}${unit})`;

/** Fixed decimals, thousands separated: tables are read by people. */
export function num(value: number, decimals = 0): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) : 'n/a';
}

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a scenario hands back to run.ts: its Markdown section and the targets it checked. */
export interface Check {
  target: string;
  /** `undecided`: the figure's interval contains the bound, so this run shows neither way (counts as not met). */
  met: boolean | 'undecided';
  measured: string;
  /** For figures measured over rounds: their 95 % interval, min–max, and how many rounds. */
  spread?: string;
}

/** A check on a figure measured round by round: median, interval and verdict from the rounds. */
export function spreadCheck(target: string, rounds: readonly number[], bound: Bound, decimals = 2, unit = '', per = 'rounds'): Check {
  const s = spread(rounds);
  const result = verdict(s, bound);
  return {
    target,
    met: result === 'undecided' ? result : result === 'met',
    measured: `${num(s.median, decimals)}${unit}`,
    spread: `${num(s.low, decimals)}–${num(s.high, decimals)}${unit}; min–max ${num(s.min, decimals)}–${num(s.max, decimals)}${unit}; ${s.rounds} ${per}`,
  };
}

export interface Section {
  title: string;
  markdown: string;
  checks: Check[];
}

/** Quick mode (`--quick`): fewer and shorter rounds, same code paths. The seed orders the rounds. */
export interface Mode {
  quick: boolean;
  seed: number;
}
