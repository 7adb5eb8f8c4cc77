import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AccountsFileError, DEFAULT_ACCOUNTS, createAccountStore, hashPassword, verifyPassword } from '../../idp/accounts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'idp-accounts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('passwords', () => {
  test('scrypt hashes are salted and verify', async () => {
    const [a, b] = [await hashPassword('pw'), await hashPassword('pw')];
    expect(a).not.toBe(b);
    await expect(verifyPassword('pw', a)).resolves.toBe(true);
    await expect(verifyPassword('PW', a)).resolves.toBe(false);
    await expect(verifyPassword('pw', 'md5$x$y')).resolves.toBe(false);
  });

  test('the built-in bob has a hash, not a password', () => {
    expect(JSON.stringify(DEFAULT_ACCOUNTS)).not.toContain('"secret"');
  });
});

describe('account store', () => {
  test('without a file: the built-in bob, with claims', async () => {
    const accounts = createAccountStore(path.join(dir, 'missing.json'));
    await expect(accounts.authenticate('bob', 'secret')).resolves.toBe('bob');
    await expect(accounts.authenticate('bob', 'wrong')).resolves.toBeUndefined();
    await expect(accounts.authenticate('nobody', 'secret')).resolves.toBeUndefined();
    const bob = await accounts.findAccount({} as never, 'bob');
    await expect(Promise.resolve(bob!.claims('id_token', 'openid', {}, []))).resolves.toMatchObject({ sub: 'bob', name: 'Bob Smith', role: 'user' });
  });

  test('the file is read on every use', async () => {
    const file = path.join(dir, 'accounts.json');
    const accounts = createAccountStore(file);
    await writeFile(file, JSON.stringify([{ ...DEFAULT_ACCOUNTS[0], claims: { ...DEFAULT_ACCOUNTS[0]!.claims, role: 'admin' } }]));
    expect((await accounts.findAccount({} as never, 'bob'))!.claims('userinfo', 'profile', {}, [])).toMatchObject({ role: 'admin' });
    await writeFile(file, JSON.stringify([{ sub: 'alice', username: 'alice', passwordHash: await hashPassword('pw'), claims: {} }]));
    await expect(accounts.findAccount({} as never, 'bob')).resolves.toBeUndefined();
    await expect(accounts.authenticate('alice', 'pw')).resolves.toBe('alice');
  });

  test('a broken file is a clear error', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{ nope');
    await expect(createAccountStore(file).authenticate('bob', 'secret')).rejects.toThrow(AccountsFileError);
  });
});
