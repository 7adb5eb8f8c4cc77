import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Configuration } from 'openid-client';
import { redisReachable } from '../test/helpers/redis.js';
import { REDIS_URL } from './apps.js';
import { type ServerProcess, startServer } from './child.js';
import { discover, refresh, signIn } from './oidc.js';
import { type Hotspots, hotspotTables, profileServer } from './profile.js';
import { SETTLE_NOTE, inRounds, looks, plan } from './load.js';
import { type Bound, type Mode, type Section, median, num, percentile, spread, spreadCheck, table, verdict, withInterval } from './stats.js';

const PROFILE = fileURLToPath(new URL('./profile-idp-sqlite.cpuprofile', import.meta.url));

/**
 * Scenario 3: refresh_token grants per second at the IdP, per token store. Each store's IdP runs in its own
 * process; from here, CHAINS signed-in sessions each rotate their own refresh token as fast as the IdP answers
 * (one grant in flight per chain, as one user's renewals are). Rounds are interleaved across stores.
 */

const STORES = ['memory', 'sqlite', 'redis'] as const;
type Store = (typeof STORES)[number];
const CHAINS = 8;
const TARGET: Bound = { value: 0.7, atLeast: true };

interface Round {
  grantsPerSecond: number;
  latenciesMs: number[];
}

class Pool {
  private constructor(
    private readonly client: Configuration,
    private readonly tokens: string[],
  ) {}

  static async open(server: ServerProcess): Promise<Pool> {
    const client = await discover(server.url);
    const tokens: string[] = [];
    for (let i = 0; i < CHAINS; i++) tokens.push((await signIn(client)).refresh_token!);
    return new Pool(client, tokens);
  }

  /** Every chain refreshes back to back until the deadline; a chain's next grant uses the token its last one returned. */
  async run(seconds: number): Promise<Round> {
    const latenciesMs: number[] = [];
    const start = performance.now();
    const deadline = start + seconds * 1000;
    await Promise.all(
      this.tokens.map(async (_, chain) => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          const tokens = await refresh(this.client, this.tokens[chain]!);
          latenciesMs.push(performance.now() - t0);
          this.tokens[chain] = tokens.refresh_token!;
        }
      }),
    );
    return { grantsPerSecond: latenciesMs.length / ((performance.now() - start) / 1000), latenciesMs };
  }
}

export async function idpRefreshScenario(mode: Mode): Promise<Section> {
  const { quick } = mode;
  const redisUp = await redisReachable(REDIS_URL);
  const stores = STORES.filter((store) => store !== 'redis' || redisUp);
  const { warmupS, roundS, ...rounds } = plan(mode);

  /** An IdP per store, fresh, with its chains signed in and warmed up. */
  async function startIdps(which: readonly Store[]) {
    const servers = new Map<Store, ServerProcess>();
    const pools = new Map<Store, Pool>();
    const stop = async () => {
      for (const [store, server] of servers) {
        const { refused } = await server.call('stats');
        if (refused) throw new Error(`the ${store} IdP refused ${refused} refresh grants: a chain broke`);
      }
      await Promise.all([...servers.values()].map((server) => server.stop()));
    };
    try {
      await Promise.all(which.map(async (store) => servers.set(store, await startServer('idp', { store, redisUrl: REDIS_URL }))));
      await Promise.all(which.map(async (store) => pools.set(store, await Pool.open(servers.get(store)!))));
      for (const store of which) await pools.get(store)!.run(warmupS);
    } catch (error) {
      await Promise.all([...servers.values()].map((server) => server.stop()));
      throw error;
    }
    return { servers, pools, stop };
  }

  let idps: Awaited<ReturnType<typeof startIdps>> | undefined;
  try {
    // The page scenario's plan: short rounds in random order, blocks on fresh processes, looks until the interval of the ratio is on one side of 0.7.
    const runs = new Map<Store, Round[]>(stores.map((store) => [store, []]));
    const block = {
      open: async () => (idps = await startIdps(stores)),
      async close() {
        await idps?.stop();
        idps = undefined;
      },
    };
    const sqliteRatios = () => ratios('sqlite');
    const ran = await inRounds(stores.length, rounds, block, async (open, i) => void runs.get(stores[i]!)!.push(await open.pools.get(stores[i]!)!.run(roundS)), () => verdict(spread(sqliteRatios()), TARGET) !== 'undecided');

    const rate = (store: Store) => median(runs.get(store)!.map((r) => r.grantsPerSecond));
    // Ratios per round (neighbours in time), then their median and its interval.
    function ratios(store: Store): number[] {
      return runs.get(store)!.map((r, i) => r.grantsPerSecond / runs.get('memory')![i]!.grantsPerSecond);
    }
    const latency = (store: Store, p: number) => median(runs.get(store)!.map((r) => percentile(r.latenciesMs, p)));
    const check = spreadCheck(`3. SQLite ≥ ${TARGET.value} × memory (refresh grants/s)`, sqliteRatios(), TARGET);
    // Not shown met: show where the SQLite IdP spends its time, for whoever works on the store.
    let hot: Hotspots | undefined;
    if (check.met !== true) {
      idps = await startIdps(['sqlite']);
      const pool = idps.pools.get('sqlite')!;
      hot = await profileServer(idps.servers.get('sqlite')!, async () => (await pool.run(quick ? 2 : 5)).latenciesMs.length, PROFILE);
    }
    const markdown = [
      `${CHAINS} chains from this process, one grant in flight each; ${warmupS} s warm-up per store, then rounds of ${roundS} s per store,`,
      `the stores in a fresh random order each round (seed ${rounds.seed}), ${SETTLE_NOTE}: **${ran.rounds} rounds** this run, in ${ran.blocks} block(s) of ${rounds.blockRounds}`,
      `(looks after ${looks(rounds).join(', ')} rounds: the first look at which the interval of SQLite's ratio lies on one side of ${TARGET.value} stops the rounds).`,
      'Each block starts every IdP anew (a fresh SQLite file, a fresh Redis prefix), signs its chains in and warms them up. Figures are medians over rounds; each ratio to memory is taken',
      'within one round, then its median and the 95 % interval of that median are reported.',
      'Each grant is a full refresh_token grant with rotation (openid-client, client_secret_basic), the IdP issuing',
      'a new opaque access token, refresh token and ES256 id token.',
      ...(redisUp ? [] : ['', `**Redis store skipped**: no Redis answered at ${REDIS_URL}.`]),
      '',
      table(
        ['token store', 'grants/s', 'ratio to memory (95 % interval)', 'min–max of the ratio', 'p50 latency', 'p99 latency'],
        stores.map((store) => {
          const s = spread(ratios(store));
          return [store, num(rate(store)), withInterval(s), `${num(s.min, 2)}–${num(s.max, 2)}`, `${num(latency(store, 50), 2)} ms`, `${num(latency(store, 99), 2)} ms`];
        }),
      ),
      '',
      'Every store keeps what each grant writes (access and refresh tokens, the consumed ones) until it expires.',
      `SQLite grants/s, round by round: ${runs.get('sqlite')!.map((r) => num(r.grantsPerSecond)).join(', ')} (a store whose lookups grow with its size would slow down along this row).`,
      ...(hot ? ['', '### Profile of the SQLite IdP (target not shown met)', '', `Raw profile: \`bench/${basename(PROFILE)}\`.`, '', hotspotTables(hot)] : []),
    ].join('\n');
    return {
      title: '3. IdP refresh throughput',
      markdown,
      checks: [check],
    };
  } finally {
    await idps?.stop();
  }
}
