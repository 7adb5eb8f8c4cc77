import { expect, jest, test } from '@jest/globals';
import { inRounds, looks } from '../../bench/load.js';

const PLAN = { blockRounds: 4, minBlocks: 4, maxBlocks: 12, lookRounds: 8, seed: 1 };

/** Rounds of two steps on counted blocks; `enough` is asked with the rounds run so far. */
async function run(enough: (rounds: number) => boolean) {
  const counts = { steps: 0, opened: 0, closed: 0, asked: [] as number[] };
  const block = { open: async () => void counts.opened++, close: async () => void counts.closed++ };
  jest.useFakeTimers(); // the quiet between two measurements is a real timer
  try {
    const ran = inRounds(2, PLAN, block, async () => void counts.steps++, () => {
      counts.asked.push(counts.steps / 2);
      return enough(counts.steps / 2);
    });
    await jest.runAllTimersAsync();
    return { ...(await ran), ...counts };
  } finally {
    jest.useRealTimers();
  }
}

test('the figures are looked at every lookRounds rounds from the end of block minBlocks on, not after every block', () => {
  expect(looks(PLAN)).toEqual([16, 24, 32, 40, 48]);
  expect(looks({ blockRounds: 6, minBlocks: 1, maxBlocks: 1, lookRounds: 6 })).toEqual([6]);
});

test('rounds stop at the first look that has enough, each block on processes opened and closed for it', async () => {
  const ran = await run((rounds) => rounds >= 30);
  expect(ran.asked).toEqual([16, 24, 32]);
  expect(ran).toMatchObject({ rounds: 32, blocks: 8, opened: 8, closed: 8, steps: 64 });
});

test('rounds go on to maxBlocks while no look has enough', async () => {
  const ran = await run(() => false);
  expect(ran.asked).toEqual([16, 24, 32, 40]);
  expect(ran).toMatchObject({ rounds: 48, blocks: 12, opened: 12, closed: 12 });
});
