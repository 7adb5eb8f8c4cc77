import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import type { Logger } from '../../common/log.js';
import { ANSWER_KIND } from '../../idp/grants/refresh-grace.js';
import { entryKey } from '../../idp/store/adapter.js';
import { type TestIdp, type TokenResponse, callEndpoint, codeFlowTokens, refreshTokens, startTestIdp, storeSuites } from '../helpers/idp.js';

/** Log lines by message, so a test can count revocations and replays. */
function capturingLogger() {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const push = (msg: string, fields: Record<string, unknown> = {}) => void lines.push({ msg, fields });
  const logger: Logger = { debug: push, info: push, warn: push, error: push };
  return { logger, count: (msg: string) => lines.filter((line) => line.msg === msg).length, lines };
}

function idpClock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
}

const SAME_ANSWER = ['access_token', 'id_token', 'refresh_token', 'token_type', 'scope'] as const;

for (const [store, suite] of await storeSuites()) {
  suite(`idempotent rotation on the ${store} store`, () => {
    let idp: TestIdp;
    const clock = idpClock();
    const log = capturingLogger();
    beforeAll(async () => {
      idp = await startTestIdp({ store, deps: { now: clock.now, logger: log.logger } });
    });
    afterAll(async () => {
      await idp.close();
    });

    const signedIn = async () => (await codeFlowTokens(idp)).refresh_token!;

    test('a rotated token presented again within the window gets the same answer, expires_in counted from now', async () => {
      const token = await signedIn();
      const first = await refreshTokens(idp, token);
      expect(first.status).toBe(200);
      clock.advance(10_000);
      const again = await refreshTokens(idp, token);
      expect(again.status).toBe(200);
      for (const field of SAME_ANSWER) expect(again.body[field]).toEqual(first.body[field]);
      expect(Number(again.body.expires_in)).toBeLessThanOrEqual(Number(first.body.expires_in) - 9);
      expect((await refreshTokens(idp, String(first.body.refresh_token))).status).toBe(200); // the successor still works
    });

    test('parallel presenters all end up holding the same valid successor; no grant revoked', async () => {
      const revokedBefore = log.count('grant revoked');
      const token = await signedIn();
      const answers = await Promise.all(Array.from({ length: 6 }, () => refreshTokens(idp, token)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
      expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
      expect((await refreshTokens(idp, String(answers[0]!.body.refresh_token))).status).toBe(200);
      expect(log.count('grant revoked')).toBe(revokedBefore);
    });

    test('after the window, reuse is refused and the grant revoked (RFC 9700)', async () => {
      const token = await signedIn();
      const first = await refreshTokens(idp, token);
      clock.advance(31_000);
      const seen = log.lines.length;
      const late = await refreshTokens(idp, token);
      expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await refreshTokens(idp, String(first.body.refresh_token))).body.error).toBe('invalid_grant');
      expect(log.lines.slice(seen)).toEqual(
        expect.arrayContaining([
          { msg: 'grant revoked', fields: expect.objectContaining({ reason: 'refresh token reused outside the grace window' }) },
          { msg: 'token request refused', fields: expect.objectContaining({ detail: 'refresh token already used' }) },
        ]),
      );
    });

    test('a reuse after the successor was itself used is refused and revokes the grant', async () => {
      const token = await signedIn();
      const second = String((await refreshTokens(idp, token)).body.refresh_token);
      const third = String((await refreshTokens(idp, second)).body.refresh_token);
      expect((await refreshTokens(idp, token)).body.error).toBe('invalid_grant');
      expect((await refreshTokens(idp, third)).body.error).toBe('invalid_grant');
    });

    test('a grant revoked by its client is never resurrected by a replay', async () => {
      const token = await signedIn();
      const successor = String((await refreshTokens(idp, token)).body.refresh_token);
      expect((await callEndpoint(idp, 'revocation_endpoint', { token: successor, token_type_hint: 'refresh_token' })).status).toBe(200);
      expect((await refreshTokens(idp, token)).body.error).toBe('invalid_grant');
    });

    test('the same token with another scope is another request: refused, and the grant kept', async () => {
      const token = await signedIn();
      const first = await refreshTokens(idp, token);
      const narrower = await callEndpoint(idp, 'token_endpoint', { grant_type: 'refresh_token', refresh_token: token, scope: 'openid' });
      expect(narrower.body.error).toBe('invalid_grant');
      expect((await refreshTokens(idp, token)).body.refresh_token).toBe(first.body.refresh_token);
    });

    test('another client presenting the token gets nothing', async () => {
      const token = await signedIn();
      await refreshTokens(idp, token);
      const stolen = await refreshTokens(idp, token, 'api');
      expect(stolen.status).toBe(400);
      expect(stolen.body.access_token).toBeUndefined();
    });

    test('an answer lost before it was recorded (the IdP died between the two writes) can be retried', async () => {
      const token = await signedIn();
      const first = await refreshTokens(idp, token);
      await idp.idp.store.delete(entryKey(ANSWER_KIND, token)); // as if the process died right after consuming
      clock.advance(3_000); // past the wait for an instance still producing it
      const retried = await refreshTokens(idp, token);
      expect(retried.status).toBe(200);
      expect(retried.body.refresh_token).not.toEqual(first.body.refresh_token);
      expect((await refreshTokens(idp, String(retried.body.refresh_token))).status).toBe(200);
    });
  });
}

describe('with the window switched off (grace 0): the failure it prevents', () => {
  let idp: TestIdp;
  const log = capturingLogger();
  beforeAll(async () => {
    idp = await startTestIdp({ refreshReuseGraceS: 0, deps: { logger: log.logger } });
  });
  afterAll(async () => {
    await idp.close();
  });

  test('a second presentation of a rotated token, however soon, revokes the grant: the session is dead', async () => {
    const token = (await codeFlowTokens(idp)).refresh_token!;
    const revokedBefore = log.count('grant revoked');
    const first = await refreshTokens(idp, token);
    expect((await refreshTokens(idp, token)).body.error).toBe('invalid_grant');
    expect((await refreshTokens(idp, String(first.body.refresh_token))).body.error).toBe('invalid_grant');
    expect(log.count('grant revoked')).toBe(revokedBefore + 1);
  });

  test('two parallel presentations: one wins, the other revokes the grant under it', async () => {
    const token = (await codeFlowTokens(idp)).refresh_token!;
    const answers = await Promise.all([refreshTokens(idp, token), refreshTokens(idp, token)]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
    const winner = answers.find((answer) => answer.status === 200)!;
    expect((await refreshTokens(idp, String(winner.body.refresh_token))).body.error).toBe('invalid_grant');
  });
});

describe('two IdP instances on one SQLite file', () => {
  let first: TestIdp;
  let second: TestIdp;
  const log = capturingLogger();
  beforeAll(async () => {
    first = await startTestIdp({ store: 'sqlite', deps: { logger: log.logger } });
    second = await startTestIdp({ store: 'sqlite', dataDir: first.config.dataDir, issuer: first.url, deps: { logger: log.logger } });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });
  afterEach(() => {
    expect(log.count('grant revoked')).toBe(0);
  });

  test('parallel presentations split over both get one answer', async () => {
    const token = (await codeFlowTokens(first)).refresh_token!;
    const answers: { status: number; body: Partial<TokenResponse> & Record<string, unknown> }[] = await Promise.all(
      Array.from({ length: 6 }, (_, i) => refreshTokens(i % 2 ? second : first, token)),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(200));
    expect(new Set(answers.map((answer) => answer.body.refresh_token)).size).toBe(1);
  });
});
