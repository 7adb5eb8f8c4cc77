import { type AuthSession, sessionFromTokens } from '../app/session.js';
import { PAGE } from './apps.js';
import { type ServerProcess, startServer } from './child.js';
import { discover, refresh, signIn } from './oidc.js';
import { authCookie, authCookieValue, openAuthCookie, pastHalfLife } from './session.js';
import { type Mode, type Section, median, num, percentile, spread, spreadCheck, table, verdict, withInterval } from './stats.js';

/**
 * Scenario 2: what a renewal costs. The real IdP (memory store) and our app each run in their own process.
 * One signed-in session walks a chain: a request before half-life, the same session past half-life (the app
 * renews it), then a refresh_token grant made directly from here (the bare token-endpoint round trip, through
 * the same openid-client call the app makes). Each step consumes the previous refresh token, so every renewal is real.
 */

const BURST = 20;
/** What servers.ts reports for our app: its token-endpoint calls, each timed from inside the app. */
type AppStats = { tokenCalls: number; tokenWaitsMs: number[] };
/** "One round trip and nothing more", with room for this machine's noise. */
const TOLERANCE_MS = 1;
const BOUND = { value: TOLERANCE_MS, atLeast: false };
/** Full mode: steps in blocks, more only while the target is undecided; the interval of the median narrows with their square root. */
const STEPS = { quick: 40, block: 200, most: 1000 };

async function timedGet(url: string, cookie: string): Promise<{ ms: number; setCookies: string[] }> {
  const start = performance.now();
  const res = await fetch(url, { headers: { cookie } });
  await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET ${PAGE} answered ${res.status}`);
  return { ms, setCookies: res.headers.getSetCookie() };
}

function renewedSession(setCookies: string[]): AuthSession {
  const value = authCookieValue(setCookies);
  if (!value) throw new Error('a request past half-life came back without a new auth cookie');
  return openAuthCookie(value);
}

const ms = (value: number) => `${num(value, 2)} ms`;

export async function renewalScenario({ quick }: Mode): Promise<Section> {
  const idp = await startServer('idp', { store: 'memory' });
  let app: ServerProcess | undefined;
  try {
    app = await startServer('ours', { issuer: idp.url });
    const url = app.url + PAGE;
    const client = await discover(idp.url);
    const warmup = 5;
    const times = { plain: [] as number[], renewing: [] as number[], direct: [] as number[] };
    // Step by step, the renewing request less the plain one and the direct round trip, all three neighbours in time.
    const overheads = () => times.renewing.map((renewing, i) => renewing - times.plain[i]! - times.direct[i]!);
    // Steps are cheap (a few ms each): on a noisy machine, enough of them that the interval of the median clears the bound.
    const enough = (steps: number) =>
      quick ? steps >= STEPS.quick : steps > 0 && steps % STEPS.block === 0 && (steps >= STEPS.most || verdict(spread(overheads()), BOUND) !== 'undecided');

    let session = sessionFromTokens(await signIn(client), Date.now());
    for (let i = 0; i < warmup || !enough(i - warmup); i++) {
      const plain = await timedGet(url, authCookie(session));
      if (plain.setCookies.length) throw new Error('a request before half-life sent Set-Cookie');
      const renewing = await timedGet(url, authCookie(pastHalfLife(session)));
      session = renewedSession(renewing.setCookies);
      const start = performance.now();
      const tokens = await refresh(client, session.refreshToken!);
      const direct = performance.now() - start;
      session = sessionFromTokens(tokens, Date.now(), session);
      if (i < warmup) continue; // connections, discovery and JIT settle first
      times.plain.push(plain.ms);
      times.renewing.push(renewing.ms);
      times.direct.push(direct);
    }
    const steps = times.plain.length;
    const chain = { app: await app.call<AppStats>('stats'), idp: await idp.call('stats') };
    const appCalls = chain.app.tokenCalls - warmup;
    const appWait = median(chain.app.tokenWaitsMs.slice(warmup));

    // The burst: the same cookie, past half-life, on 20 requests at once, as a page with many assets would send.
    const before = await idp.call('stats');
    const cookie = authCookie(pastHalfLife(session));
    const burstStart = performance.now();
    const burst = await Promise.all(Array.from({ length: BURST }, () => timedGet(url, cookie)));
    const burstMs = performance.now() - burstStart;
    const after = await idp.call('stats');
    const idpCalls = after.refreshes! - before.refreshes!;
    const newTokens = new Set(burst.map((response) => renewedSession(response.setCookies).refreshToken));

    const extra = median(times.renewing) - median(times.plain);
    const roundTrip = median(times.direct);
    const overhead = spread(overheads());
    const row = (label: string, values: number[]) => [label, ms(median(values)), ms(percentile(values, 90)), ms(Math.max(...values))];
    const markdown = [
      `${steps} steps after ${warmup} warm-up steps; one step = a request before half-life, the same session past half-life, a direct refresh.`,
      ...(quick ? [] : [`Steps come in blocks of ${STEPS.block}, more (up to ${num(STEPS.most)}) only while the target is undecided.`]),
      'The target is judged on the per-step overhead (renewing − plain − direct, each step three neighbours in time): its median and the 95 % interval of that median.',
      'Requests are sequential, from this process to the app over loopback; the app calls the IdP over loopback.',
      '',
      table(['request', 'median', 'p90', 'max'], [
        row('`GET /page`, no renewal due', times.plain),
        row('`GET /page`, past half-life: the app refreshes', times.renewing),
        row('refresh_token grant made directly (openid-client)', times.direct),
      ]),
      '',
      table(['', 'measured'], [
        ['extra time of a renewing request (median − median)', ms(extra)],
        ['one token-endpoint round trip (median)', ms(roundTrip)],
        ['extra ÷ round trip', num(extra / roundTrip, 2)],
        ['per step: renewing − plain − direct round trip (median, 95 % interval)', withInterval(overhead, 2, ' ms')],
        ['the app\'s wait for the token endpoint, timed inside the app (median)', ms(appWait)],
        ['the app\'s own renewal work: extra − that wait', ms(extra - appWait)],
        ['token-endpoint calls by the app / renewals asked for', `${num(appCalls)} / ${num(steps)}`],
        ['refresh grants refused by the IdP', num(chain.idp.refused!)],
      ]),
      '',
      `**Burst**: ${BURST} parallel requests with one cookie past half-life → **${idpCalls}** refresh call(s) at the IdP;`,
      `${burst.filter((r) => r.setCookies.length).length} of ${BURST} responses carried a new cookie, holding ${newTokens.size} distinct refresh token(s);`,
      `the burst took ${ms(burstMs)}, its slowest request ${ms(Math.max(...burst.map((r) => r.ms)))}.`,
    ].join('\n');
    return {
      title: '2. Renewal path',
      markdown,
      checks: [
        spreadCheck(`2. a renewal adds one token round trip and at most ${TOLERANCE_MS} ms (renewing − plain − round trip, per step)`, overheads(), BOUND, 2, ' ms', 'steps'),
        { target: '2. one token-endpoint call per renewal', met: appCalls === steps, measured: `${appCalls} / ${steps}` },
        { target: `2. burst of ${BURST} at half-life → 1 IdP refresh`, met: idpCalls === 1 && newTokens.size === 1, measured: `${idpCalls} call(s)` },
      ],
    };
  } finally {
    await app?.stop();
    await idp.stop();
  }
}
