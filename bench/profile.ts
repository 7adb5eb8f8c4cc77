import { writeFile } from 'node:fs/promises';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerProcess } from './child.js';
import { num, table } from './stats.js';

/**
 * Profiles one server under load with V8's sampling CPU profiler (the one `node --cpu-prof` uses), then ranks
 * self time per owner (our code, each npm package, Node internals) and per function.
 */

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Who owns a frame: `ours (app/…)`, an npm package, `node` internals, or V8's pseudo-frames like (garbage collector). */
function owner(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'native';
  if (url.startsWith('node:')) return 'node';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const inModules = path.lastIndexOf(`node_modules${sep}`);
  if (inModules >= 0) {
    const [scopeOrName, name] = path.slice(inModules + 'node_modules/'.length).split(sep);
    return scopeOrName!.startsWith('@') ? `${scopeOrName}/${name}` : scopeOrName!;
  }
  return path.startsWith(ROOT) ? `ours (${path.slice(ROOT.length).split(sep)[0]}/)` : 'other';
}

const where = (url: string) => (url.startsWith('file://') ? fileURLToPath(url).slice(ROOT.length) : url);

export interface Hotspots {
  /** CPU time sampled per request served while profiling (the profiler's own overhead included). */
  usPerRequest: number;
  byOwner: { owner: string; share: number }[];
  byFunction: { name: string; where: string; owner: string; share: number }[];
}

export function hotspots(profile: CpuProfile, requests: number): Hotspots {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfUs = new Map<string, { frame: CpuProfile['nodes'][number]['callFrame']; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)!;
    if (frame.functionName === '(idle)') return; // waiting for the next request is not work
    if (frame.url === 'node:inspector') return; // the profiler's own stop call
    const us = profile.timeDeltas[i] ?? 0;
    total += us;
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}`;
    const entry = selfUs.get(key) ?? { frame, us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
  });
  const owners = new Map<string, number>();
  for (const { frame, us } of selfUs.values()) owners.set(owner(frame.url, frame.functionName), (owners.get(owner(frame.url, frame.functionName)) ?? 0) + us);
  return {
    usPerRequest: total / requests,
    byOwner: [...owners].map(([name, us]) => ({ owner: name, share: us / total })).sort((a, b) => b.share - a.share),
    byFunction: [...selfUs.values()]
      .map(({ frame, us }) => ({
        name: frame.functionName || '(anonymous)',
        // tsx-compiled files report line 0 for every function: their name and file say enough.
        where: frame.url ? where(frame.url) + (frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : '') : '',
        owner: owner(frame.url, frame.functionName),
        share: us / total,
      }))
      .sort((a, b) => b.share - a.share),
  };
}

/** Profiles a running server (see servers.ts) while `load` runs against it and counts its requests; keeps the raw profile for DevTools. */
export async function profileServer(server: ServerProcess, load: () => Promise<number>, saveAs: string): Promise<Hotspots> {
  await server.call('profile-start');
  const requests = await load();
  const profile = await server.call<CpuProfile>('profile-stop');
  await writeFile(saveAs, JSON.stringify(profile));
  return hotspots(profile, requests);
}

const pct = (share: number) => `${num(share * 100, 1)} %`;

export function hotspotTables({ usPerRequest, byOwner, byFunction }: Hotspots, topN = 12): string {
  const ours = byFunction.filter((f) => f.owner.startsWith('ours'));
  const us = (share: number) => num(share * usPerRequest, 1);
  return [
    `Sampled CPU per request while profiling: ${num(usPerRequest, 1)} µs (the profiler slows the server down; compare shares, not totals).`,
    '',
    'Self time by owner:',
    '',
    table(['owner', 'self time', 'µs/request'], byOwner.slice(0, 10).map((o) => [o.owner, pct(o.share), us(o.share)])),
    '',
    `Top ${topN} functions by self time:`,
    '',
    table(['function', 'where', 'owner', 'self time', 'µs/request'], byFunction.slice(0, topN).map((f) => [`\`${f.name}\``, f.where, f.owner, pct(f.share), us(f.share)])),
    '',
    'Our functions by self time:',
    '',
    ours.length ? table(['function', 'where', 'self time', 'µs/request'], ours.slice(0, 8).map((f) => [`\`${f.name}\``, f.where, pct(f.share), us(f.share)])) : '(none sampled)',
  ].join('\n');
}

/** µs per request by key, from a profile's shares. */
function perRequest<T>(rows: readonly T[], key: (row: T) => string, share: (row: T) => number, usPerRequest: number): Map<string, number> {
  const us = new Map<string, number>();
  for (const row of rows) us.set(key(row), (us.get(key(row)) ?? 0) + share(row) * usPerRequest);
  return us;
}

/** Rows of [key, base µs, other µs, difference], largest difference first. */
function sideBySide(base: Map<string, number>, other: Map<string, number>, topN: number): [string, number, number, number][] {
  return [...new Set([...base.keys(), ...other.keys()])]
    .map((key): [string, number, number, number] => [key, base.get(key) ?? 0, other.get(key) ?? 0, (other.get(key) ?? 0) - (base.get(key) ?? 0)])
    .sort((a, b) => b[3] - a[3])
    .slice(0, topN);
}

/**
 * Two servers under the same load, side by side: sampled µs per request by owner and by function, sorted by how much
 * more `other` spends than `base`. What the difference is made of is where `other`'s extra cost goes.
 */
export function differenceTables(base: Hotspots, other: Hotspots, [baseName, otherName]: [string, string], topN = 12): string {
  const us = (value: number) => num(value, 1);
  const signed = (value: number) => (value >= 0 ? '+' : '−') + us(Math.abs(value));
  const owners = sideBySide(
    perRequest(base.byOwner, (o) => o.owner, (o) => o.share, base.usPerRequest),
    perRequest(other.byOwner, (o) => o.owner, (o) => o.share, other.usPerRequest),
    topN,
  );
  const fnKey = (f: Hotspots['byFunction'][number]) => `\`${f.name}\` ${f.where ? `(${f.where})` : `(${f.owner})`}`;
  const functions = sideBySide(
    perRequest(base.byFunction, fnKey, (f) => f.share, base.usPerRequest),
    perRequest(other.byFunction, fnKey, (f) => f.share, other.usPerRequest),
    topN,
  );
  const head = (what: string) => [what, `${baseName} µs/request`, `${otherName} µs/request`, `${otherName} − ${baseName}`];
  return [
    `Sampled CPU per request: ${baseName} ${us(base.usPerRequest)} µs, ${otherName} ${us(other.usPerRequest)} µs, difference ${signed(other.usPerRequest - base.usPerRequest)} µs`,
    '(the profiler slows both down alike: compare the differences, not the totals with the throughput above).',
    '',
    `Self time by owner, largest difference first (top ${topN}):`,
    '',
    table(head('owner'), owners.map(([key, a, b, d]) => [key, us(a), us(b), signed(d)])),
    '',
    `Self time by function, largest difference first (top ${topN}):`,
    '',
    table(head('function'), functions.map(([key, a, b, d]) => [key, us(a), us(b), signed(d)])),
  ].join('\n');
}
