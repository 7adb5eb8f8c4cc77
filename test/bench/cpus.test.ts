import { expect, test } from '@jest/globals';
import { affinityList } from '../../bench/cpus.js';

test('the CPUs taskset prints are read as a list, ranges expanded', () => {
  expect(affinityList("pid 42's current affinity list: 0,1\n")).toEqual([0, 1]);
  expect(affinityList("pid 42's current affinity list: 0,2-4,7")).toEqual([0, 2, 3, 4, 7]);
  expect(affinityList("pid 42's current affinity list: 3")).toEqual([3]);
});
