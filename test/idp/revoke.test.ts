import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseRevokeArgs, revokeAccount, revokeGrant } from '../../idp/revoke.js';
import { UsageError } from '../../common/errors.js';
import type { StoreBackend } from '../../idp/store/backend.js';
import { openStore } from '../../idp/store/open.js';
import { type TestIdp, codeFlowTokens, introspect, refreshTokens, startTestIdp, storeSuites } from '../helpers/idp.js';

for (const [store, suite] of await storeSuites(['sqlite', 'redis'])) {
  suite(`operator revocation on the ${store} store, from another process's connection`, () => {
    let idp: TestIdp;
    let operator: StoreBackend;
    beforeAll(async () => {
      idp = await startTestIdp({ store });
      operator = await openStore(idp.config);
    });
    afterAll(async () => {
      await operator.close();
      await idp.close();
    });

    test("revoking bob: all his grants go, refresh and access tokens introspect inactive", async () => {
      const [laptop, phone] = [await codeFlowTokens(idp), await codeFlowTokens(idp)];
      const revoked = await revokeAccount(operator, 'bob');
      expect(revoked).toHaveLength(2);
      for (const tokens of [laptop, phone]) {
        expect((await introspect(idp, tokens.refresh_token!, 'mvc')).body).toEqual({ active: false });
        expect((await introspect(idp, tokens.access_token)).body).toEqual({ active: false });
        expect((await refreshTokens(idp, tokens.refresh_token!)).body).toMatchObject({ error: 'invalid_grant' });
      }
      expect(await revokeAccount(operator, 'bob')).toEqual([]);
    });

    test('revoking one grant leaves the others', async () => {
      const [laptop, phone] = [await codeFlowTokens(idp), await codeFlowTokens(idp)];
      const grantIds = await operator.grantIdsForAccount('bob');
      expect(grantIds).toHaveLength(2);
      const [first] = grantIds;
      expect(await revokeGrant(operator, first!)).toBeGreaterThan(0);
      const active = await Promise.all([laptop, phone].map(async (tokens) => (await introspect(idp, tokens.refresh_token!, 'mvc')).body.active));
      expect(active.sort()).toEqual([false, true]);
      expect(await revokeGrant(operator, first!)).toBe(0);
      await revokeAccount(operator, 'bob');
    });
  });
}

describe('command line', () => {
  test.each([[['--user', 'bob'], { user: 'bob' }], [['--grant', 'g1'], { grant: 'g1' }]])('%j', (args, target) => {
    expect(parseRevokeArgs(args)).toEqual(target);
  });

  test.each([[[]], [['--user']], [['--user', 'bob', '--grant', 'g1']], [['--who', 'bob']], [['bob']]])('%j is a usage error', (args) => {
    expect(() => parseRevokeArgs(args)).toThrow(UsageError);
  });
});
