import { describe, expect, test } from '@jest/globals';
import { createMemoryRenewalStore } from '../../app/renewal/store-memory.js';
import type { RenewalOutcome } from '../../app/renewal/store.js';
import { deferred, session } from '../helpers/renewal.js';


describe('memory renewal store', () => {
  test('concurrent renewals of one token share a single refresh', async () => {
    const store = createMemoryRenewalStore(() => 0);
    const gate = deferred<RenewalOutcome>();
    let calls = 0;
    const refresh = () => { calls++; return gate.promise; };
    const all = Promise.all(Array.from({ length: 20 }, () => store.renew('rt-0', 60_000, refresh)));
    gate.resolve({ kind: 'renewed', session: session(1) });
    const outcomes = await all;
    expect(calls).toBe(1);
    expect(new Set(outcomes.map((o) => (o.kind === 'renewed' ? o.session.accessToken : o.kind)))).toEqual(new Set(['at-1']));
  });

  test('a stale token gets the stored outcome within the grace window only; after it `stale`, with no refresh, until its cookie expires', async () => {
    let now = 0;
    const store = createMemoryRenewalStore(() => now, { staleGraceMs: 10_000 });
    let calls = 0;
    const refresh = async (): Promise<RenewalOutcome> => { calls++; return { kind: 'renewed', session: session(calls) }; };
    await store.renew('rt-0', 60_000, refresh);
    now = 10_000;
    expect(await store.renew('rt-0', 60_000, refresh)).toEqual({ kind: 'renewed', session: session(1) });
    now = 10_001;
    expect(await store.renew('rt-0', 60_000, refresh)).toMatchObject({ kind: 'stale', reason: expect.stringContaining('already renewed or refused') });
    now = 59_999;
    expect((await store.renew('rt-0', 60_000, refresh)).kind).toBe('stale');
    expect(calls).toBe(1);
    now = 60_000;
    await store.renew('rt-other', 120_000, refresh);
    expect(store.size).toBe(1);
  });

  test('failure mode: with the outcome handed out until the old cookie expires, a copy 50 s old still gets the rotated tokens', async () => {
    let now = 0;
    const store = createMemoryRenewalStore(() => now, { staleGraceMs: 60_000 });
    const refresh = async (): Promise<RenewalOutcome> => ({ kind: 'renewed', session: session(1) });
    await store.renew('rt-0', 60_000, refresh);
    now = 50_000;
    expect(await store.renew('rt-0', 60_000, refresh)).toEqual({ kind: 'renewed', session: session(1) });
  });

  test('transient failures are shared by waiters but not kept', async () => {
    const store = createMemoryRenewalStore(() => 0);
    let calls = 0;
    const refresh = async (): Promise<RenewalOutcome> => { calls++; return { kind: 'transient', reason: 'down' }; };
    const [a, b] = await Promise.all([store.renew('rt-0', 60_000, refresh), store.renew('rt-0', 60_000, refresh)]);
    expect(a).toEqual({ kind: 'transient', reason: 'down' });
    expect(b).toEqual(a);
    await store.renew('rt-0', 60_000, refresh);
    expect(calls).toBe(2);
  });

  test('refusals are kept: a stale cookie does not ask the IdP again', async () => {
    const store = createMemoryRenewalStore(() => 0);
    let calls = 0;
    const refresh = async (): Promise<RenewalOutcome> => { calls++; return { kind: 'refused', reason: 'invalid_grant' }; };
    await store.renew('rt-0', 60_000, refresh);
    expect(await store.renew('rt-0', 60_000, refresh)).toEqual({ kind: 'refused', reason: 'invalid_grant' });
    expect(calls).toBe(1);
  });
});
