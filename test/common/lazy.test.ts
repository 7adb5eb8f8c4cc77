import { expect, test } from '@jest/globals';
import { lazy } from '../../common/lazy.js';

test('made once and shared, concurrent callers included', async () => {
  let made = 0;
  const get = lazy(async () => ++made);
  expect(await Promise.all([get(), get(), get()])).toEqual([1, 1, 1]);
  expect(await get()).toBe(1);
});

test('a failure is not remembered: the next call tries again', async () => {
  let attempts = 0;
  const get = lazy(async () => {
    attempts += 1;
    if (attempts === 1) throw new Error('IdP down');
    return 'configuration';
  });
  await expect(get()).rejects.toThrow('IdP down');
  expect(await get()).toBe('configuration');
  expect(attempts).toBe(2);
});
