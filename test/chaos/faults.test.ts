import { afterEach, describe, expect, test } from '@jest/globals';
import { type ChaosStack, NO_HARM, harm, newTally, signedInBrowser, startChaosStack, summary, visit } from '../helpers/chaos.js';
import { testClock } from '../helpers/app.js';
import { type FaultKind, faultQueue } from '../helpers/fault-proxy.js';

const SESSIONS = 10;
const TOKEN_TTL_S = 60;
const IDP_TIMEOUT_MS = 1_500;
/** Past the app's timeout: the app gives up while the IdP has already rotated. */
const DELAY_MS = IDP_TIMEOUT_MS + 1_000;
const STEP_MS = 10_000;
const GRACE_S = 30;

const stacks: ChaosStack[] = [];
afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.close();
});

/**
 * SESSIONS browsers sign in at once; every 10 s (app clock) each requests /about, for three token lifetimes.
 * The first renewal of every session (at half-life) hits `fault`; the next request retries with the same refresh token.
 */
async function faultedRun(fault: FaultKind, graceS: number, clockOffsetMs = 0) {
  const clock = testClock(Date.now() + clockOffsetMs);
  const stack = await startChaosStack({ now: clock.now, graceS, idpTimeoutMs: IDP_TIMEOUT_MS, delayMs: DELAY_MS, tokenTtlS: TOKEN_TTL_S });
  stacks.push(stack);
  stack.proxy.plan = faultQueue(...Array.from({ length: SESSIONS }, () => fault));
  const tally = newTally();
  const browsers = await Promise.all(Array.from({ length: SESSIONS }, () => signedInBrowser(stack.appUrl, clock.now, tally)));
  let live = browsers;
  for (let elapsed = 0; elapsed < 3 * TOKEN_TTL_S * 1000; elapsed += STEP_MS) {
    clock.advance(STEP_MS);
    const still = await Promise.all(live.map((browser) => visit(browser, stack.appUrl, tally)));
    live = live.filter((_browser, i) => still[i]);
  }
  const revoked = stack.revoked();
  console.log(`chaos ${fault}, grace ${graceS} s${clockOffsetMs ? `, app clock ${clockOffsetMs / 1000} s` : ''}: ${summary(tally, stack.proxy.counts, revoked)}`);
  return { tally, revoked, counts: stack.proxy.counts };
}

function expectNoHarm({ tally, revoked }: Awaited<ReturnType<typeof faultedRun>>) {
  expect(tally.notes).toEqual([]);
  expect(harm(tally, revoked)).toEqual(NO_HARM);
  expect(tally.slowestMs).toBeLessThanOrEqual(IDP_TIMEOUT_MS + 1_000);
  // Every session renewed across three lifetimes: one renewal per half-life, the faulted one late.
  expect(tally.renewals).toBeGreaterThanOrEqual(SESSIONS * 5);
}

/** Faults where the IdP rotated the token but the app never got the answer. */
const ANSWER_LOST: FaultKind[] = ['drop', 'delay', 'status502', 'status504'];

describe(`benign refresh faults, ${SESSIONS} sessions, ${TOKEN_TTL_S}-s tokens, IdP timeout ${IDP_TIMEOUT_MS} ms`, () => {
  for (const fault of [...ANSWER_LOST, 'reset'] as FaultKind[]) {
    test(`${fault} at every session's first renewal: no logout, no revoked grant, no 5xx, nobody held past the timeout`, async () => {
      const run = await faultedRun(fault, GRACE_S);
      expect(run.counts.faults[fault]).toBe(SESSIONS);
      expectNoHarm(run);
    });
  }

  for (const fault of ANSWER_LOST) {
    test(`failure mode, grace 0: ${fault} makes the retry a reuse, the grant is revoked and every session is logged out`, async () => {
      const run = await faultedRun(fault, 0);
      expect(run.counts.faults[fault]).toBe(SESSIONS);
      expect(run.tally.logouts).toBe(SESSIONS);
      expect(run.revoked).toBe(SESSIONS);
    });
  }

  test('control, grace 0: a reset before the IdP saw the request is retried harmlessly (the damage comes from lost answers)', async () => {
    const run = await faultedRun('reset', 0);
    expect(run.counts.faults.reset).toBe(SESSIONS);
    expectNoHarm(run);
  });
});

describe('app clock ±30 s from the IdP', () => {
  for (const offsetMs of [-30_000, 30_000]) {
    test(`app clock ${offsetMs / 1000} s: sessions renew across three lifetimes, a lost answer included, no logout`, async () => {
      expectNoHarm(await faultedRun('drop', GRACE_S, offsetMs));
    });
  }
});
