import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type JSONWebKeySet, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JWKS } from 'oidc-provider';
import { KeyRotationError, addNextKey, generateSigningKey, promoteKey, readKeysFile, retireKey, writeKeysFile } from '../../idp/keys.js';
import { applyKeyCommand, parseKeyArgs } from '../../idp/rotate-keys.js';
import { UsageError } from '../../idp/revoke.js';
import { type TestIdp, codeFlowTokens, discover, startTestIdp } from '../helpers/idp.js';

describe('key set edits', () => {
  test('add appends, promote moves first, retire drops any key but the signing one', async () => {
    const [a, b] = [await generateSigningKey(), await generateSigningKey()];
    const added = await addNextKey({ keys: [a, b] });
    expect(added.jwks.keys.map((key) => key.kid)).toEqual([a.kid, b.kid, added.kid]);
    expect(added.jwks.keys[2]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(promoteKey(added.jwks, added.kid).keys.map((key) => key.kid)).toEqual([added.kid, a.kid, b.kid]);
    expect(retireKey(added.jwks, b.kid!).keys.map((key) => key.kid)).toEqual([a.kid, added.kid]);
    expect(() => retireKey(added.jwks, a.kid!)).toThrow(KeyRotationError);
    expect(() => promoteKey(added.jwks, 'nope')).toThrow(KeyRotationError);
  });

  test('command line', async () => {
    expect(parseKeyArgs(['promote', 'k1'])).toEqual({ command: 'promote', kid: 'k1' });
    expect(parseKeyArgs(['list'])).toEqual({ command: 'list' });
    for (const bad of [[], ['promote'], ['add', 'x'], ['retire', 'a', 'b'], ['--force']]) expect(() => parseKeyArgs(bad)).toThrow(UsageError);
    const key = await generateSigningKey();
    const { jwks, message } = await applyKeyCommand({ keys: [key] }, { command: 'add' });
    expect(jwks.keys).toHaveLength(2);
    expect(message).toMatch(/published but not signing/);
  });
});

describe('signing key rotation on a running IdP (restarted after each step)', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(async () => {
    await idp.close();
  });

  const publishedKids = async () => {
    const jwks = (await (await fetch(String((await discover(idp)).jwks_uri))).json()) as JSONWebKeySet;
    return { kids: jwks.keys.map((key) => key.kid), verify: (token: string) => jwtVerify(token, createLocalJWKSet(jwks), { issuer: idp.url, audience: 'mvc' }) };
  };
  const idTokenKid = async () => {
    const { id_token } = await codeFlowTokens(idp);
    return { idToken: id_token, kid: decodeProtectedHeader(id_token).kid };
  };
  const step = async (edit: (jwks: JWKS) => Promise<void> | void) => {
    await edit((await readKeysFile(idp.config.dataDir))!);
    await idp.restart();
  };

  test('add (published, not used) → promote (old tokens still verify) → retire (old tokens no longer verify)', async () => {
    const oldKid = (await readKeysFile(idp.config.dataDir))!.keys[0]!.kid;
    const before = await idTokenKid();
    expect(before.kid).toBe(oldKid);

    let newKid = '';
    await step(async (jwks) => {
      const added = await addNextKey(jwks);
      newKid = added.kid;
      await writeKeysFile(idp.config.dataDir, added.jwks);
    });
    expect((await publishedKids()).kids).toEqual([oldKid, newKid]);
    expect((await idTokenKid()).kid).toBe(oldKid);

    await step((jwks) => writeKeysFile(idp.config.dataDir, promoteKey(jwks, newKid)));
    const promoted = await idTokenKid();
    expect(promoted.kid).toBe(newKid);
    const afterPromotion = await publishedKids();
    expect(afterPromotion.kids).toEqual([newKid, oldKid]);
    await expect(afterPromotion.verify(before.idToken)).resolves.toMatchObject({ payload: { sub: 'bob' } });
    await expect(afterPromotion.verify(promoted.idToken)).resolves.toMatchObject({ payload: { sub: 'bob' } });

    await step((jwks) => writeKeysFile(idp.config.dataDir, retireKey(jwks, oldKid!)));
    const retired = await publishedKids();
    expect(retired.kids).toEqual([newKid]);
    await expect(retired.verify(before.idToken)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(retired.verify(promoted.idToken)).resolves.toMatchObject({ payload: { sub: 'bob' } });
  });
});
