/**
 * `npm run chaos [-- --seconds 120 --sessions 40 --seed N --fault-rate 0.3 --grace 30]`: the chaos suite's stack
 * (app → fault-injecting proxy → in-process IdP, 30-s tokens) in real time. Simulated browsers sign in, then request
 * /about a few seconds apart, sometimes in parallel bursts with one cookie; each refresh request is faulted (drop, reset,
 * delay past the app's IdP timeout, 502, 504) with probability --fault-rate, at most twice per refresh token, drawn
 * from a seeded PRNG (the seed is printed; --seed replays the fault sequence). A browser logged out signs in again and
 * the logout is counted.
 * Stops by itself. The last line is a summary; the exit code is 1 if an invariant failed (a spurious logout, a revoked
 * grant, a 5xx or transport error, a request held past the IdP timeout + 1 s). --grace 0 shows the unprotected IdP.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../common/errors.js';
import { type Tally, invariantsHeld, isRevocation, newTally, note, signedInBrowser, startChaosStack, summary, visit } from '../test/helpers/chaos.js';
import { FAULT_KINDS, type FaultProxy } from '../test/helpers/fault-proxy.js';
import type { Browser } from '../test/helpers/sign-in.js';

const TOKEN_TTL_S = 30;
const IDP_TIMEOUT_MS = 1_500;
/** Sign-ins are spread over this long. */
const RAMP_MS = 5_000;
const PAUSE_MS = { min: 1_000, max: 4_000 };
const BURST = { probability: 0.15, max: 4 };
const MAX_SECONDS = 290;
/**
 * Faults in a row on one refresh token. Benign faults let a retry through: a refresh token faulted on every try from
 * half-life to expiry is an IdP outage, which ends sessions at their cookie's expiry by design.
 */
const MAX_FAULTS_PER_TOKEN = 2;

function readOptions(args: string[]) {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        seconds: { type: 'string', default: '120' },
        sessions: { type: 'string', default: '40' },
        seed: { type: 'string', default: String(Date.now() % 1_000_000) },
        'fault-rate': { type: 'string', default: '0.3' },
        grace: { type: 'string', default: String(TOKEN_TTL_S) },
      },
      strict: true,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const number = (name: string, valid: (value: number) => boolean, rule: string) => {
    const value = Number(values[name]);
    if (!valid(value)) throw new UsageError(`--${name} must be ${rule}`);
    return value;
  };
  return {
    seconds: number('seconds', (v) => v > 0 && v <= MAX_SECONDS, `a number of seconds up to ${MAX_SECONDS}`),
    sessions: number('sessions', (v) => Number.isInteger(v) && v >= 1 && v <= 500, 'an integer from 1 to 500'),
    seed: number('seed', (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'),
    faultRate: number('fault-rate', (v) => v >= 0 && v <= 1, 'between 0 and 1'),
    graceS: number('grace', (v) => Number.isInteger(v) && v >= 0 && v <= TOKEN_TTL_S, `an integer from 0 to ${TOKEN_TTL_S}`),
  };
}

/** mulberry32: a small seeded PRNG, so a run's faults and pauses can be replayed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Each refresh request faulted with probability `rate`, a kind drawn at random, but never a token's third fault in a row. */
function benignFaults(random: () => number, rate: number): FaultProxy['plan'] {
  const faultsByToken = new Map<string, number>();
  return ({ refreshToken }) => {
    // Both draws always happen, so the n-th request gets the same fault in every run with this seed.
    const [draw, pick] = [random(), random()];
    const faulted = faultsByToken.get(refreshToken) ?? 0;
    if (draw >= rate || faulted >= MAX_FAULTS_PER_TOKEN) return undefined;
    faultsByToken.set(refreshToken, faulted + 1);
    return FAULT_KINDS[Math.floor(pick * FAULT_KINDS.length)];
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One simulated user until the deadline: requests a few seconds apart, sometimes a burst; signs in again after a logout. */
async function browse(appUrl: string, deadline: number, random: () => number, tally: Tally) {
  const between = (min: number, max: number) => min + random() * (max - min);
  await sleep(between(0, RAMP_MS));
  let browser: Browser | undefined;
  while (Date.now() < deadline) {
    try {
      browser ??= await signedInBrowser(appUrl, Date.now, tally);
    } catch (error) {
      tally.transportErrors += 1;
      note(tally, `sign-in: ${(error as Error).message}`);
      return;
    }
    await sleep(between(PAUSE_MS.min, PAUSE_MS.max));
    const parallel = random() < BURST.probability ? 2 + Math.floor(random() * (BURST.max - 1)) : 1;
    const signedIn = await Promise.all(Array.from({ length: parallel }, () => visit(browser!, appUrl, tally)));
    if (signedIn.includes(false)) browser = undefined;
  }
}

async function main() {
  const { seconds, sessions, seed, faultRate, graceS } = readOptions(process.argv.slice(2));
  // A watchdog, so the run always ends.
  setTimeout(() => {
    console.error('chaos: time limit reached, giving up');
    process.exit(2);
  }, (seconds + 60) * 1000).unref();

  // Two streams: the n-th refresh request gets the same fault whatever the timing of the browsers' pauses.
  const faultRandom = seededRandom(seed);
  const pauseRandom = seededRandom(seed + 1);
  const stack = await startChaosStack({ now: Date.now, graceS, idpTimeoutMs: IDP_TIMEOUT_MS, delayMs: IDP_TIMEOUT_MS + 1_000, tokenTtlS: TOKEN_TTL_S });
  stack.proxy.plan = benignFaults(faultRandom, faultRate);
  console.log(
    `chaos: seed=${seed} (--seed ${seed} replays the faults) sessions=${sessions} seconds=${seconds} fault_rate=${faultRate} grace_s=${graceS}` +
      ` token_ttl_s=${TOKEN_TTL_S} idp_timeout_ms=${IDP_TIMEOUT_MS}; app ${stack.appUrl} → proxy ${stack.proxy.url} → IdP ${stack.idp.url}`,
  );

  const tally = newTally();
  const started = Date.now();
  const progress = setInterval(() => console.log(`  ${Math.round((Date.now() - started) / 1000)} s: ${summary(tally, stack.proxy.counts, stack.revoked())}`), 30_000);
  await Promise.all(Array.from({ length: sessions }, () => browse(stack.appUrl, started + seconds * 1000, pauseRandom, tally)));
  clearInterval(progress);

  const revoked = stack.revoked();
  const revocations = stack.idpLog.filter(isRevocation).slice(0, 5);
  await stack.close();
  for (const message of tally.notes) console.log(`  ! ${message}`);
  for (const line of revocations) console.log(`  ! IdP: grant revoked (${String(line.reason ?? 'no reason given')})`);
  const held = invariantsHeld(tally, revoked, IDP_TIMEOUT_MS);
  console.log(`chaos: ${summary(tally, stack.proxy.counts, revoked)} seed=${seed} ${held ? 'ok' : 'FAILED'}`);
  process.exit(held ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? `${error.message}\nusage: npm run chaos -- [--seconds S] [--sessions N] [--seed N] [--fault-rate R] [--grace S]` : error);
  process.exit(1);
});
