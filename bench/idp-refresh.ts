import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Configuration } from 'openid-client';
import { redisReachable } from '../test/helpers/redis.js';
import { REDIS_URL } from './apps.js';
import { type ServerProcess, startServer } from './child.js';
import { discover, refresh, signIn } from './oidc.js';
import { hotspotTables, profileServer } from './profile.js';
import { type Mode, type Section, median, num, percentile, table } from './stats.js';

const PROFILE = fileURLToPath(new URL('./profile-idp-sqlite.cpuprofile', import.meta.url));

/**
 * Scenario 3: refresh_token grants per second at the IdP, per token store. Each store's IdP runs in its own
 * process; from here, CHAINS signed-in sessions each rotate their own refresh token as fast as the IdP answers
 * (one grant in flight per chain, as one user's renewals are). Rounds are interleaved across stores.
 */

const STORES = ['memory', 'sqlite', 'redis'] as const;
type Store = (typeof STORES)[number];
const CHAINS = 8;

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

export async function idpRefreshScenario({ quick }: Mode): Promise<Section> {
  const redisUp = await redisReachable(REDIS_URL);
  const stores = STORES.filter((store) => store !== 'redis' || redisUp);
  const servers = new Map<Store, ServerProcess>();
  try {
    await Promise.all(stores.map(async (store) => servers.set(store, await startServer('idp', { store, redisUrl: REDIS_URL }))));
    const pools = new Map<Store, Pool>();
    await Promise.all(stores.map(async (store) => pools.set(store, await Pool.open(servers.get(store)!))));

    const { warmupS, rounds, roundS } = quick ? { warmupS: 0.5, rounds: 2, roundS: 1 } : { warmupS: 3, rounds: 5, roundS: 5 };
    for (const store of stores) await pools.get(store)!.run(warmupS);
    const runs = new Map<Store, Round[]>(stores.map((store) => [store, []]));
    for (let round = 0; round < rounds; round++) {
      for (const store of stores) runs.get(store)!.push(await pools.get(store)!.run(roundS));
    }
    for (const store of stores) {
      const { refused } = await servers.get(store)!.call('stats');
      if (refused) throw new Error(`the ${store} IdP refused ${refused} refresh grants: a chain broke`);
    }

    const rate = (store: Store) => median(runs.get(store)!.map((r) => r.grantsPerSecond));
    // Ratios per round (neighbours in time), then the median.
    const ratio = (store: Store) => median(runs.get(store)!.map((r, i) => r.grantsPerSecond / runs.get('memory')![i]!.grantsPerSecond));
    const latency = (store: Store, p: number) => median(runs.get(store)!.map((r) => percentile(r.latenciesMs, p)));
    const sqliteRatio = ratio('sqlite');
    // Below target: show where the SQLite IdP spends its time, for whoever fixes the store.
    const hot =
      sqliteRatio < 0.7
        ? await profileServer(servers.get('sqlite')!, async () => (await pools.get('sqlite')!.run(quick ? 2 : 5)).latenciesMs.length, PROFILE)
        : undefined;
    const markdown = [
      `${CHAINS} chains from this process, one grant in flight each; ${warmupS} s warm-up per store, then ${rounds} rounds × ${roundS} s`,
      'interleaved across stores. Figures are medians over rounds; ratios are medians of per-round ratios to memory.',
      'Each grant is a full refresh_token grant with rotation (openid-client, client_secret_basic), the IdP issuing',
      'a new opaque access token, refresh token and ES256 id token.',
      ...(redisUp ? [] : ['', `**Redis store skipped**: no Redis answered at ${REDIS_URL}.`]),
      '',
      table(
        ['token store', 'grants/s', 'ratio to memory', 'p50 latency', 'p99 latency', 'grants/s round by round'],
        stores.map((store) => [
          store,
          num(rate(store)),
          num(ratio(store), 2),
          `${num(latency(store, 50), 2)} ms`,
          `${num(latency(store, 99), 2)} ms`,
          runs.get(store)!.map((r) => num(r.grantsPerSecond)).join(', '),
        ]),
      ),
      '',
      'Every store keeps what each grant writes (access and refresh tokens, the consumed ones) until it expires,',
      'so a store whose lookups grow with its size slows down round after round: the last column shows it.',
      ...(hot ? ['', '### Profile of the SQLite IdP (below target)', '', `Raw profile: \`bench/${basename(PROFILE)}\`.`, '', hotspotTables(hot)] : []),
    ].join('\n');
    return {
      title: '3. IdP refresh throughput',
      markdown,
      checks: [{ target: '3. SQLite ≥ 0.7 × memory (refresh grants/s)', met: sqliteRatio >= 0.7, measured: num(sqliteRatio, 2) }],
    };
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}
