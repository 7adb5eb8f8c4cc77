import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PAGE, REDIS_URL } from './apps.js';
import { type ServerProcess, startServer } from './child.js';
import { type Pinning, pinCpus } from './cpus.js';
import { type Load, SETTLE_NOTE, type Target, cannon, interleaved, looks, medianLoad, plan, ratios } from './load.js';
import { differenceTables, hotspotTables, profileServer } from './profile.js';
import { type BenchRedis, openBenchRedis } from './redis.js';
import { authCookie, authSession, eocCookie, largeTokenSet, rawTokenBytes, syntheticTokenSet } from './session.js';
import { type Bound, type Mode, type Section, type Spread, num, sleep, spread, spreadCheck, table, verdict } from './stats.js';

/**
 * Scenario 1: the same small HTML page served by (a) bare Express, (b) our middleware with a valid auth cookie,
 * (c) express-openid-connect with an equivalent session. No renewal is due: this is the cost of every request.
 * Reference rows: (a′) bare Express sent our cookie, what carrying it costs before any auth code runs;
 * (b3) our middleware with 8 KB of tokens in three chunks, and (a3′) bare Express carrying those;
 * (b-redis) our middleware with the Redis stores createApp uses when REDIS_URL is set.
 */

const PROFILES = { ours: fileURLToPath(new URL('./profile-ours.cpuprofile', import.meta.url)), bare: fileURLToPath(new URL('./profile-bare.cpuprofile', import.meta.url)) };

/** The calibration row's busy time: about what our middleware's own code takes per request (its profile rows below). */
const BUSY_US = 1;

interface Row {
  name: string;
  server: 'bare' | 'bare-busy' | 'ours' | 'ours-redis' | 'eoc';
  cookie?: 'ours' | 'ours3' | 'eoc';
  label: string;
}

// Measured in a random order each round (see load.ts inRounds); each ratio is taken between two rows of one round.
const ROWS: Row[] = [
  { name: 'a', server: 'bare', label: '(a) bare Express, no auth' },
  { name: "a'", server: 'bare', cookie: 'ours', label: '(a′) bare Express, our cookie sent and ignored' },
  // The calibration: what this machine makes of a microsecond of work per request, whoever's code it is.
  { name: "a''", server: 'bare-busy', cookie: 'ours', label: `(a″) the same as (a′) behind one more middleware, busy for ${BUSY_US} µs: the calibration` },
  { name: 'b', server: 'ours', cookie: 'ours', label: '(b) our middleware, valid cookie' },
  // The control: the same server as (b) in another process. b2/b is 1 but for noise: it shows how far two rows can differ by chance.
  { name: 'b2', server: 'ours', cookie: 'ours', label: '(b2) the same as (b), another process: the control' },
  { name: 'b-redis', server: 'ours-redis', cookie: 'ours', label: '(b-redis) our middleware, Redis renewal and logout stores' },
  { name: 'c', server: 'eoc', cookie: 'eoc', label: '(c) express-openid-connect, valid session' },
  { name: 'b3', server: 'ours', cookie: 'ours3', label: '(b3) our middleware, valid 3-chunk cookie (8 KB of tokens)' },
  { name: "a3'", server: 'bare', cookie: 'ours3', label: '(a3′) bare Express, our 3-chunk cookie sent and ignored' },
];

interface Ratio {
  x: string;
  y: string;
  label: string;
  bound?: Bound;
}

const RATIOS: Ratio[] = [
  { x: 'b', y: 'a', label: 'b / a (our overhead vs no auth)', bound: { value: 0.55, atLeast: true } },
  { x: 'b', y: 'c', label: 'b / c (ours vs express-openid-connect)', bound: { value: 5, atLeast: true } },
  { x: 'b', y: "a'", label: 'b / a′ (our code alone: both carry the cookie)', bound: { value: 0.9, atLeast: true } },
  { x: 'b-redis', y: 'b', label: 'b-redis / b (Redis stores vs in process)', bound: { value: 0.95, atLeast: true } },
  { x: "a''", y: "a'", label: `a″ / a′ (the calibration: one more middleware layer, ${BUSY_US} µs of work in it)` },
  { x: 'b2', y: 'b', label: 'b2 / b (the control: two identical servers)' },
  { x: 'b3', y: 'b', label: 'b3 / b (three chunks, 8 KB of tokens, vs one cookie)' },
  { x: 'b3', y: "a3'", label: 'b3 / a3′ (our code alone with the 3-chunk cookie)' },
];

/** Refuses to measure anything but an authenticated 200; reports whether the response wrote a cookie. */
async function check(target: Target, user: string | undefined): Promise<{ setsCookie: boolean }> {
  const res = await fetch(target.url, { headers: target.headers, redirect: 'manual' });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${target.name} answered ${res.status}, not 200: it is not measuring an authenticated page`);
  if (user && !body.includes(user)) throw new Error(`${target.name} did not see the session's user`);
  return { setsCookie: res.headers.getSetCookie().length > 0 };
}

async function start(server: Row['server'], redis: BenchRedis | undefined, pinning: Pinning): Promise<ServerProcess> {
  const started = await (server === 'ours-redis'
    ? startServer('ours', { redisUrl: redis!.url })
    : server === 'bare-busy'
      ? startServer('bare', { busyUs: String(BUSY_US) })
      : startServer(server));
  try {
    pinning.server(started.pid);
  } catch (error) {
    await started.stop();
    throw error;
  }
  return started;
}

/** The app's start-up commands (the load of logout records, SUBSCRIBE) are not per request: wait until the count holds still. */
async function settledCommands(redis: BenchRedis): Promise<number | undefined> {
  let last = await redis.commands();
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const now = await redis.commands();
    if (now === last) return now;
    last = now;
  }
  throw new Error('the Redis command count never settled: something keeps calling Redis');
}

const fmt = (s: Spread, bound?: Bound) =>
  [num(s.median, 2), `${num(s.low, 2)}–${num(s.high, 2)}`, `${num(s.min, 2)}–${num(s.max, 2)}`, bound ? `${bound.atLeast ? '≥' : '≤'} ${bound.value}` : '', bound ? verdict(s, bound) : ''];

export async function pageScenario(mode: Mode): Promise<Section> {
  const { quick } = mode;
  const tokens = await syntheticTokenSet();
  const large = await largeTokenSet();
  const cookies = { ours: authCookie(authSession(tokens)), ours3: authCookie(authSession(large)), eoc: eocCookie(tokens) };
  const chunks = cookies.ours3.split('; ').length;
  if (chunks !== 3) throw new Error(`the large token set took ${chunks} cookies, not 3`);
  const redis = await openBenchRedis(REDIS_URL);
  const pinning = pinCpus();
  const rows = ROWS.filter((row) => row.server !== 'ours-redis' || redis);
  const shown = RATIOS.filter((r) => rows.some((row) => row.name === r.x));
  const roundPlan = plan(mode);
  const { roundS, warmupS, connections } = roundPlan;
  const setsCookie = new Map<string, boolean>();
  const redisCount = { commands: 0 as number | undefined, requests: 0 };

  // A server process per row: a process that also served another row's cookies (3 chunks, say) would carry that row's
  // heap and compiled code into this one's figures, and the rows of a ratio would not be measured alike.
  async function startFleet(names: readonly string[]) {
    const fleetRows = rows.filter((row) => names.includes(row.name));
    const servers = new Map(await Promise.all(fleetRows.map(async (row) => [row.name, await start(row.server, redis, pinning)] as const)));
    const targets: Target[] = fleetRows.map((row) => ({
      name: row.name,
      url: servers.get(row.name)!.url + PAGE,
      headers: row.cookie ? { cookie: cookies[row.cookie] } : undefined,
      cpu: () => servers.get(row.name)!.call<number>('cpu'),
    }));
    for (const [i, target] of targets.entries()) {
      const user = fleetRows[i]!.server.startsWith('bare') ? undefined : String(tokens.claims.name);
      setsCookie.set(target.name, (setsCookie.get(target.name) ?? false) || (await check(target, user)).setsCookie);
    }
    const stop = async () => {
      for (const row of fleetRows.filter((r) => r.server.startsWith('ours'))) {
        if ((await servers.get(row.name)!.call('stats')).tokenCalls !== 0) throw new Error(`scenario 1 renewed a session in (${row.name}): the cookie was not valid before half-life`);
      }
      await Promise.all([...servers.values()].map((server) => server.stop()));
    };
    return { servers, targets, stop };
  }

  let fleet: Awaited<ReturnType<typeof startFleet>> | undefined;
  let commandsBefore: number | undefined;
  const block = {
    async open() {
      fleet = await startFleet(rows.map((row) => row.name));
      commandsBefore = redis && (await settledCommands(redis));
      return fleet.targets;
    },
    async close() {
      const commandsAfter = redis && (await redis.commands());
      const counted = commandsBefore !== undefined && commandsAfter !== undefined && redisCount.commands !== undefined;
      redisCount.commands = counted ? redisCount.commands! + commandsAfter - commandsBefore! : undefined;
      await fleet?.stop();
      fleet = undefined;
    },
  };
  try {
    const spreadOf = (runs: Map<string, Load[]>, r: Ratio) => spread(ratios(runs.get(r.x)!, runs.get(r.y)!));
    // Enough rounds when every target's interval lies on one side of its bound.
    const decided = (runs: Map<string, Load[]>) => shown.every((r) => !r.bound || verdict(spreadOf(runs, r), r.bound) !== 'undecided');
    const { runs, blocks } = await interleaved(rows.map((row) => row.name), block, roundPlan, decided);
    const rounds = runs.get('a')!.length;
    const redisRequests = runs.get('b-redis')?.reduce((sum, load) => sum + load.requests, 0) ?? 0;
    const redisCommands = redis ? redisCount.commands : undefined;

    // Profiles on fresh (a′) and (b) processes, warmed up as in the rounds.
    const profileSeconds = quick ? 1.5 : 5;
    fleet = await startFleet(["a'", 'b']);
    for (const target of fleet.targets) await cannon(target, warmupS, connections);
    const loadOn = (name: string) => async () => (await cannon(fleet!.targets.find((target) => target.name === name)!, profileSeconds, connections)).requests;
    const bareHot = await profileServer(fleet.servers.get("a'")!, loadOn("a'"), PROFILES.bare);
    const oursHot = await profileServer(fleet.servers.get('b')!, loadOn('b'), PROFILES.ours);

    const spreads = new Map(shown.map((r) => [r, spreadOf(runs, r)]));
    const markdown = [
      pinning.note,
      `autocannon from the parent process, ${connections} connections, no pipelining, ${warmupS} s warm-up per target, then rounds of`,
      `${roundS} s per target, the targets (${rows.map((r) => r.name).join(', ')}) in a fresh random order each round (seed ${roundPlan.seed}), ${SETTLE_NOTE}:`,
      `**${rounds} rounds** this run, in ${blocks} block(s) of ${roundPlan.blockRounds}. Each block runs on fresh server processes (warmed up again): two`,
      'identical processes can differ by a few per cent for their whole life, and several blocks average that out.',
      `The bench looks at the ratios after ${looks(roundPlan).join(', ')} rounds and stops at the first look where every target's interval`,
      'lies wholly on one side of its bound.',
      'Figures are medians over rounds; each ratio is taken within one round (the same few seconds),',
      'then its median and a 95 % confidence interval for that median (order statistics: no assumption about the distribution) are reported.',
      'A target is met only if its whole interval clears the bound. Latency is per response as autocannon timed it, under that load.',
      "Server CPU is the server process's CPU time (every thread) over the requests it served: about 1/throughput, so the server,",
      'not the load generator, is what the throughput measures.',
      `Each row has a server process of its own (none serves another row's cookies) that answered 200 to \`GET ${PAGE}\` before it was measured.`,
      "The token set is synthetic but shaped like the demo IdP's (ES256 id token with the same header and claims, 43-character opaque access and refresh tokens):",
      `our cookie is ${num(cookies.ours.length)} bytes, express-openid-connect's ${num(cookies.eoc.length)}.`,
      `The 3-chunk rows carry the same set grown to ${num(rawTokenBytes(large))} bytes of tokens (JWT access token, a \`groups\` claim): ${num(cookies.ours3.length)} bytes of Cookie header.`,
      ...(redis ? [] : ['', `(b-redis) skipped: no redis-server installed and no Redis answered at ${REDIS_URL}.`]),
      '',
      table(
        ['server', 'requests/s', 'µs/request (1/throughput)', 'server CPU µs/request', 'p50 latency', 'p99 latency', 'Set-Cookie on a valid session'],
        rows.map(({ name, label }) => {
          const r = medianLoad(runs.get(name)!);
          return [label, num(r.rps), num(1e6 / r.rps, 1), num(r.cpuUs, 1), `${num(r.p50, 2)} ms`, `${num(r.p99, 2)} ms`, setsCookie.get(name) ? 'yes, every response' : 'no'];
        }),
      ),
      '',
      table(['ratio (requests/s)', 'median', '95 % interval', 'min–max', 'target', 'verdict'], shown.map((r) => [r.label, ...fmt(spreads.get(r)!, r.bound)])),

      ...(redis
        ? [
            '',
            `**Redis calls on the request path**: (b-redis) ran against ${redisCommands === undefined ? `the shared Redis at ${REDIS_URL}, whose commands are not counted (others use it too)` : 'a private redis-server started for this scenario'}.`,
            ...(redisCommands === undefined
              ? []
              : [`It served **${num(redisCommands)} command(s)** while (b-redis) answered its warm-ups and ${num(redisRequests)} measured requests (INFO commandstats before and after each block, once the app's start-up commands had settled):`,
                 'logout records are held in each instance and replicated by pub/sub, so a request that renews nothing never calls Redis.']),
          ]
        : []),
      '',
      "### Profile: where (b) spends more than (a′)",
      '',
      `V8's CPU profiler (as \`node --cpu-prof\`) on server (a′), then on server (b), after the rounds above, each under the same load for ${profileSeconds} s.`,
      `The raw profiles are \`bench/${basename(PROFILES.bare)}\` and \`bench/${basename(PROFILES.ours)}\` (git-ignored): open them in Chrome DevTools › Performance.`,
      '',
      differenceTables(bareHot, oursHot, ['a′', 'b']),
      '',
      'How to read it: `writev` is the kernel sending the response over loopback, which also wakes the load generator. It grows with',
      `any work added per request, not only with writes: the calibration row (a″), bare Express behind one more middleware busy for ${BUSY_US} µs,`,
      'shows in every run what that much code costs on this machine (a″ / a′ above). The `writev` row says how much slower (b) is;',
      'the rows of our code (app/, router, cookie, lru-cache, microtasks) say what its middleware does per request.',
      '',
      '(b) alone:',
      '',
      hotspotTables(oursHot, 8),
    ].join('\n');

    const ratioChecks = shown.filter((r) => r.bound).map((r) => spreadCheck(`1. ${r.label.split(' (')[0]} ${r.bound!.atLeast ? '≥' : '≤'} ${r.bound!.value}`, ratios(runs.get(r.x)!, runs.get(r.y)!), r.bound!));
    return {
      title: '1. Authenticated page, no renewal due',
      markdown,
      checks: [
        ...ratioChecks,
        ...(redisCommands === undefined ? [] : [{ target: '1. (b-redis) makes no Redis call per request', met: redisCommands === 0, measured: `${num(redisCommands)} commands / ${num(redisRequests)} requests` }]),
        { target: '1. no Set-Cookie from (b) on a valid session', met: !setsCookie.get('b'), measured: setsCookie.get('b') ? 'sent' : 'none' },
        { target: '1. no Set-Cookie from (b3) on a valid 3-chunk session', met: !setsCookie.get('b3'), measured: setsCookie.get('b3') ? 'sent' : 'none' },
      ],
    };
  } finally {
    try {
      await fleet?.stop();
      await redis?.stop();
    } finally {
      pinning.release();
    }
  }
}
