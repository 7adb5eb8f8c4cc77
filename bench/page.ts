import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisReachable } from '../test/helpers/redis.js';
import { PAGE, REDIS_URL } from './apps.js';
import { type ServerProcess, startServer } from './child.js';
import { type Target, cannon, interleaved, medianLoad, medianRatio, plan } from './load.js';
import { hotspotTables, profileServer } from './profile.js';
import { authCookie, authSession, eocCookie, largeTokenSet, rawTokenBytes, syntheticTokenSet } from './session.js';
import { type Mode, type Section, num, table } from './stats.js';

/**
 * Scenario 1: the same small HTML page served by (a) bare Express, (b) our middleware with a valid auth cookie,
 * (c) express-openid-connect with an equivalent session. No renewal is due: this is the cost of every request.
 * Reference rows: (a′) bare Express sent our cookie, what carrying it costs before any auth code runs;
 * (b3) our middleware with 8 KB of tokens in three chunks, and (a3′) bare Express carrying those;
 * (b-redis) our middleware with the Redis stores createApp uses when REDIS_URL is set.
 */

const PROFILE = fileURLToPath(new URL('./profile-ours.cpuprofile', import.meta.url));

interface Row {
  name: string;
  server: 'bare' | 'ours' | 'ours-redis' | 'eoc';
  cookie?: 'ours' | 'ours3' | 'eoc';
  label: string;
}

const ROWS: Row[] = [
  { name: 'a', server: 'bare', label: '(a) bare Express, no auth' },
  { name: "a'", server: 'bare', cookie: 'ours', label: '(a′) bare Express, our cookie sent and ignored' },
  { name: 'b', server: 'ours', cookie: 'ours', label: '(b) our middleware, valid cookie' },
  { name: "a3'", server: 'bare', cookie: 'ours3', label: '(a3′) bare Express, our 3-chunk cookie sent and ignored' },
  { name: 'b3', server: 'ours', cookie: 'ours3', label: '(b3) our middleware, valid 3-chunk cookie (8 KB of tokens)' },
  { name: 'b-redis', server: 'ours-redis', cookie: 'ours', label: '(b-redis) our middleware, Redis renewal and logout stores' },
  { name: 'c', server: 'eoc', cookie: 'eoc', label: '(c) express-openid-connect, valid session' },
];

/** Refuses to measure anything but an authenticated 200; reports whether the response wrote a cookie. */
async function check(target: Target, user: string | undefined): Promise<{ setsCookie: boolean }> {
  const res = await fetch(target.url, { headers: target.headers, redirect: 'manual' });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${target.name} answered ${res.status}, not 200: it is not measuring an authenticated page`);
  if (user && !body.includes(user)) throw new Error(`${target.name} did not see the session's user`);
  return { setsCookie: res.headers.getSetCookie().length > 0 };
}

function start(server: Row['server']): Promise<ServerProcess> {
  return server === 'ours-redis' ? startServer('ours', { redisUrl: REDIS_URL }) : startServer(server);
}

export async function pageScenario({ quick }: Mode): Promise<Section> {
  const tokens = await syntheticTokenSet();
  const large = await largeTokenSet();
  const cookies = { ours: authCookie(authSession(tokens)), ours3: authCookie(authSession(large)), eoc: eocCookie(tokens) };
  const chunks = cookies.ours3.split('; ').length;
  if (chunks !== 3) throw new Error(`the large token set took ${chunks} cookies, not 3`);
  const redisUp = await redisReachable(REDIS_URL);
  const rows = ROWS.filter((row) => row.server !== 'ours-redis' || redisUp);
  const kinds = [...new Set(rows.map((row) => row.server))];
  const servers = new Map(await Promise.all(kinds.map(async (kind) => [kind, await start(kind)] as const)));
  try {
    const targets: Target[] = rows.map((row) => ({
      name: row.name,
      url: servers.get(row.server)!.url + PAGE,
      headers: row.cookie ? { cookie: cookies[row.cookie] } : undefined,
    }));
    const setsCookie = new Map<string, boolean>();
    for (const [i, target] of targets.entries()) {
      const user = rows[i]!.server === 'bare' ? undefined : String(tokens.claims.name);
      setsCookie.set(target.name, (await check(target, user)).setsCookie);
    }
    const { rounds, roundS, warmupS, connections } = plan(quick);
    const runs = await interleaved(targets, plan(quick));
    if ((await servers.get('ours')!.call('stats')).tokenCalls !== 0) throw new Error('scenario 1 renewed a session: the cookie was not valid before half-life');

    const ratio = (x: string, y: string) => medianRatio(runs.get(x)!, runs.get(y)!);
    const ba = ratio('b', 'a');
    const bc = ratio('b', 'c');
    const profileSeconds = quick ? 1.5 : 8;
    const ours = targets.find((target) => target.name === 'b')!;
    const hot = await profileServer(servers.get('ours')!, async () => (await cannon(ours, profileSeconds, connections)).requests, PROFILE);

    const markdown = [
      `autocannon from the parent process, ${connections} connections, no pipelining, ${warmupS} s warm-up per target,`,
      `then ${rounds} rounds × ${roundS} s interleaved (${rows.map((r) => r.name).join(', ')}, …). Figures are medians over rounds;`,
      'ratios are medians of the per-round ratios. Latency is per response as autocannon timed it, under that load.',
      `Each server ran in its own process and answered 200 to \`GET ${PAGE}\` before it was measured.`,
      "The token set is synthetic but shaped like the demo IdP's (ES256 id token with the same header and claims, 43-character opaque access and refresh tokens):",
      `our cookie is ${num(cookies.ours.length)} bytes, express-openid-connect's ${num(cookies.eoc.length)}.`,
      `The 3-chunk rows carry the same set grown to ${num(rawTokenBytes(large))} bytes of tokens (JWT access token, a \`groups\` claim): ${num(cookies.ours3.length)} bytes of Cookie header.`,
      ...(redisUp ? [] : ['', `(b-redis) skipped: no Redis answered at ${REDIS_URL}.`]),
      '',
      table(
        ['server', 'requests/s', 'µs/request (1/throughput)', 'p50 latency', 'p99 latency', 'Set-Cookie on a valid session'],
        rows.map(({ name, label }) => {
          const r = medianLoad(runs.get(name)!);
          return [label, num(r.rps), num(1e6 / r.rps, 1), `${num(r.p50, 2)} ms`, `${num(r.p99, 2)} ms`, setsCookie.get(name) ? 'yes, every response' : 'no'];
        }),
      ),
      '',
      table(['ratio (requests/s)', 'measured', 'target'], [
        ['b / a (our overhead vs no auth)', num(ba, 2), '≥ 0.55'],
        ['b / c (ours vs express-openid-connect)', num(bc, 2), '≥ 5'],
        ['b / a′ (our code alone: both carry the cookie)', num(ratio('b', "a'"), 2), ''],
        ['b3 / b (three chunks, 8 KB of tokens, vs one cookie)', num(ratio('b3', 'b'), 2), ''],
        ['b3 / a3′ (our code alone with the 3-chunk cookie)', num(ratio('b3', "a3'"), 2), ''],
        ...(redisUp ? [['b-redis / b (the Redis stores on every request)', num(ratio('b-redis', 'b'), 2), '']] : []),
      ]),
      '',
      '### Profile of (b)',
      '',
      `V8's CPU profiler (as \`node --cpu-prof\`) on server (b), started after the rounds above, under the same load for ${profileSeconds} s.`,
      `The raw profile is \`bench/${basename(PROFILE)}\` (git-ignored): open it in Chrome DevTools › Performance.`,
      '',
      hotspotTables(hot),
    ].join('\n');

    return {
      title: '1. Authenticated page, no renewal due',
      markdown,
      checks: [
        { target: '1. b/a ≥ 0.55', met: ba >= 0.55, measured: num(ba, 2) },
        { target: '1. b/c ≥ 5', met: bc >= 5, measured: num(bc, 2) },
        { target: '1. no Set-Cookie from (b) on a valid session', met: !setsCookie.get('b'), measured: setsCookie.get('b') ? 'sent' : 'none' },
        { target: '1. no Set-Cookie from (b3) on a valid 3-chunk session', met: !setsCookie.get('b3'), measured: setsCookie.get('b3') ? 'sent' : 'none' },
      ],
    };
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}
