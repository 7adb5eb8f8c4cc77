import { expect, test } from '@jest/globals';
import { affinityList } from '../../bench/cpus.js';

test('the CPUs taskset prints are read as a list, ranges expanded', () => {
  expect(affinityList("pid 42's current affinity list: 0,1\n")).toEqual([0, 1]);
  expect(affinityList("pid 42's current affinity list: 0,2-4,7")).toEqual([0, 2, 3, 4, 7]);
  expect(affinityList("pid 42's current affinity list: 3")).toEqual([3]);
});

test('anything else taskset might print is refused, not read as some list', () => {
  for (const printed of ['', 'taskset: failed to get pid 42\'s affinity: No such process', "pid 42's current affinity list: ", "pid 42's current affinity list: 0-x", "pid 42's current affinity list: 4-2"]) {
    expect(() => affinityList(printed)).toThrow(/unexpected/);
  }
});
