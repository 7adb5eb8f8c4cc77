import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type JSONWebKeySet, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { ClientMetadata, JWKS } from 'oidc-provider';
import { KeyRotationError, addNextKeys, generateSigningKey, loadSigningKeys, promoteKey, readKeysFile, retireKey, writeKeysFile } from '../../idp/keys.js';
import { applyKeyCommand, parseKeyArgs } from '../../idp/rotate-keys.js';
import { ConfigError, UsageError } from '../../common/errors.js';
import { defaultClients } from '../../idp/config.js';
import { type TestIdp, codeFlowTokens, discover, startTestIdp } from '../helpers/idp.js';

describe('key set edits', () => {
  test('add appends one key per algorithm, promote moves first, retire drops any key but a signing one', async () => {
    const [es, rs, old] = [await generateSigningKey('ES256'), await generateSigningKey('RS256'), await generateSigningKey('ES256')];
    const added = await addNextKeys({ keys: [es, rs, old] });
    const [nextEs, nextRs] = added.kids as [string, string];
    expect(added.jwks.keys.map((key) => key.kid)).toEqual([es.kid, rs.kid, old.kid, nextEs, nextRs]);
    expect(added.jwks.keys[3]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(added.jwks.keys[4]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(promoteKey(added.jwks, nextRs).keys.map((key) => key.kid)).toEqual([nextRs, es.kid, rs.kid, old.kid, nextEs]);
    expect(retireKey(added.jwks, old.kid!).keys.map((key) => key.kid)).toEqual([es.kid, rs.kid, nextEs, nextRs]);
    // Each algorithm's first key signs: neither the first ES256 nor the first RS256 key can go.
    expect(() => retireKey(added.jwks, es.kid!)).toThrow(KeyRotationError);
    expect(() => retireKey(added.jwks, rs.kid!)).toThrow(/signs RS256/);
    expect(() => promoteKey(added.jwks, 'nope')).toThrow(KeyRotationError);
  });

  test('command line', async () => {
    expect(parseKeyArgs(['promote', 'k1'])).toEqual({ command: 'promote', kids: ['k1'] });
    expect(parseKeyArgs(['retire', 'a', 'b'])).toEqual({ command: 'retire', kids: ['a', 'b'] });
    expect(parseKeyArgs(['list'])).toEqual({ command: 'list' });
    for (const bad of [[], ['promote'], ['add', 'x'], ['--force']]) expect(() => parseKeyArgs(bad)).toThrow(UsageError);
    const start = { keys: [await generateSigningKey('ES256'), await generateSigningKey('RS256')] };
    const { jwks, message } = await applyKeyCommand(start, { command: 'add' });
    expect(jwks.keys).toHaveLength(4);
    expect(message).toMatch(/published but not signing/);
    const newKids = jwks.keys.slice(2).map((key) => key.kid!);
    const promoted = await applyKeyCommand(jwks, { command: 'promote', kids: newKids });
    expect(promoted.jwks.keys.slice(0, 2).map((key) => key.kid).sort()).toEqual([...newKids].sort());
  });

  test('a key set from before RS256 gets an RS256 key on load, kept in the file; IDP_JWKS without one is refused', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'keys-test-'));
    try {
      const es = await generateSigningKey('ES256');
      await writeKeysFile(dataDir, { keys: [es] });
      const loaded = await loadSigningKeys(dataDir);
      expect(loaded.keys.map((key) => key.alg)).toEqual(['ES256', 'RS256']);
      expect(loaded.keys[0]!.kid).toBe(es.kid);
      expect(await readKeysFile(dataDir)).toEqual(loaded);
      await expect(loadSigningKeys(dataDir, { keys: [es] })).rejects.toThrow(new ConfigError('IDP_JWKS has no RS256 key: `npm run idp:keys -- add` prints a set with one for each algorithm'));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('signing key rotation on a running IdP (restarted after each step), ES256 and RS256 together', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    // `rp` asks for RS256, `mvc` keeps the default ES256.
    const rp: ClientMetadata = { client_id: 'rp', client_secret: 'rp-test-secret-000001', redirect_uris: ['http://localhost:3001/cb'], id_token_signed_response_alg: 'RS256' };
    idp = await startTestIdp({ clients: [...defaultClients({ appBaseUrl: 'http://localhost:3000', mvcSecret: 'mvc-test-secret', apiSecret: 'api-test-secret' }), rp] });
  });
  afterAll(async () => {
    await idp.close();
  });

  const published = async () => {
    const jwks = (await (await fetch(String((await discover(idp)).jwks_uri))).json()) as JSONWebKeySet;
    return {
      kids: jwks.keys.map((key) => key.kid),
      verify: (token: string, audience: string) => jwtVerify(token, createLocalJWKSet(jwks), { issuer: idp.url, audience }),
    };
  };
  /** An id token for each client: mvc's is ES256, rp's RS256. */
  const idTokens = async () => {
    const [mvc, rp] = [(await codeFlowTokens(idp, 'mvc')).id_token, (await codeFlowTokens(idp, 'rp')).id_token];
    return { mvc, rp, kids: [decodeProtectedHeader(mvc), decodeProtectedHeader(rp)].map(({ alg, kid }) => `${alg} ${kid}`) };
  };
  const kidsOf = (jwks: JWKS, alg: string) => jwks.keys.filter((key) => key.alg === alg).map((key) => key.kid);
  const step = async (edit: (jwks: JWKS) => Promise<JWKS> | JWKS) => {
    await writeKeysFile(idp.config.dataDir, await edit((await readKeysFile(idp.config.dataDir))!));
    await idp.restart();
  };

  test('add (published, not used) → promote (old tokens still verify) → retire (old tokens no longer verify)', async () => {
    const start = (await readKeysFile(idp.config.dataDir))!;
    const [oldEs, oldRs] = [kidsOf(start, 'ES256')[0]!, kidsOf(start, 'RS256')[0]!];
    const before = await idTokens();
    expect(before.kids).toEqual([`ES256 ${oldEs}`, `RS256 ${oldRs}`]);

    let added: string[] = [];
    await step(async (jwks) => {
      const next = await applyKeyCommand(jwks, { command: 'add' });
      added = next.jwks.keys.slice(jwks.keys.length).map((key) => key.kid!);
      return next.jwks;
    });
    const [newEs, newRs] = added as [string, string];
    expect((await published()).kids).toEqual([oldEs, oldRs, newEs, newRs]);
    expect((await idTokens()).kids).toEqual(before.kids);

    await step(async (jwks) => (await applyKeyCommand(jwks, { command: 'promote', kids: [newEs, newRs] })).jwks);
    const promoted = await idTokens();
    expect(promoted.kids).toEqual([`ES256 ${newEs}`, `RS256 ${newRs}`]);
    const afterPromotion = await published();
    for (const tokens of [before, promoted]) {
      await expect(afterPromotion.verify(tokens.mvc, 'mvc')).resolves.toMatchObject({ payload: { sub: 'bob' } });
      await expect(afterPromotion.verify(tokens.rp, 'rp')).resolves.toMatchObject({ payload: { sub: 'bob' } });
    }

    await step(async (jwks) => (await applyKeyCommand(jwks, { command: 'retire', kids: [oldEs, oldRs] })).jwks);
    const retired = await published();
    expect(retired.kids.sort()).toEqual([newEs, newRs].sort());
    await expect(retired.verify(before.mvc, 'mvc')).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(retired.verify(before.rp, 'rp')).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await expect(retired.verify(promoted.rp, 'rp')).resolves.toMatchObject({ payload: { sub: 'bob' } });
  });
});
