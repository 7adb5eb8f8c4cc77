import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { PRUNE_INTERVAL_MS, createAdapterFactory, entryKey, sha256 } from '../../idp/store/adapter.js';
import type { StoreBackend, StoredEntry } from '../../idp/store/backend.js';
import { createMemoryBackend } from '../../idp/store/memory.js';
import { openStore } from '../../idp/store/open.js';
import { createSqliteBackend } from '../../idp/store/sqlite.js';
import { startCheckpointer } from '../../idp/store/sqlite-checkpointer.js';
import { recordingLogger } from '../helpers/chaos.js';
import { eventually } from '../helpers/eventually.js';
import { type TestIdp, browserCodeFlow, refreshTokens, startTestIdp, storeSuites } from '../helpers/idp.js';
import { deleteRedisKeys } from '../helpers/redis.js';
import { redisServerInstalled, startRedisServer } from '../helpers/redis-server.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'idp-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function redisTtlMs(key: string) {
  const redis = new Redis(process.env.REDIS_URL!);
  try {
    return await redis.pttl(key);
  } finally {
    redis.disconnect();
  }
}

const entry = (overrides: Partial<StoredEntry> = {}): StoredEntry => ({
  kind: 'AccessToken',
  payload: { accountId: 'bob', clientId: 'mvc', scope: 'openid' },
  accountId: 'bob',
  clientId: 'mvc',
  expiresAt: Date.now() + 60_000,
  ...overrides,
});

for (const [store, suite] of await storeSuites()) {
  suite(`the ${store} backend`, () => {
    let backend: StoreBackend;
    let prefix: string;
    beforeEach(async () => {
      prefix = `idp-test:${randomBytes(6).toString('hex')}:`;
      const dataDir = path.join(dir, prefix.replaceAll(':', '-'));
      backend = await openStore({ store, dataDir, redisUrl: process.env.REDIS_URL, redisPrefix: prefix, redisAllowVolatile: true, redisCommandTimeoutMs: 1000 });
    });
    afterEach(async () => {
      await backend.close();
      if (store === 'redis') await deleteRedisKeys(process.env.REDIS_URL!, prefix);
    });

    test('put, get, overwrite, delete', async () => {
      const stored = entry({ grantId: 'g1' });
      await backend.put('AccessToken:a', stored);
      expect(await backend.get('AccessToken:a')).toEqual(stored);
      await backend.put('AccessToken:a', entry({ payload: { scope: 'openid profile' }, grantId: 'g1' }));
      expect((await backend.get('AccessToken:a'))!.payload).toEqual({ scope: 'openid profile' });
      await backend.delete('AccessToken:a');
      expect(await backend.get('AccessToken:a')).toBeUndefined();
    });

    test('consume: once, keeping the expiry; a missing entry stays missing', async () => {
      const expiresAt = Date.now() + 30_000;
      await backend.put('RefreshToken:r', entry({ kind: 'RefreshToken', expiresAt }));
      expect(await Promise.all([backend.consume('RefreshToken:r', 1234), backend.consume('RefreshToken:r', 5678)])).toEqual([true, false]);
      expect(await backend.get('RefreshToken:r')).toMatchObject({ consumedAt: 1234, expiresAt });
      expect(await backend.consume('RefreshToken:gone', 1234)).toBe(false);
      expect(await backend.get('RefreshToken:gone')).toBeUndefined();
      if (store === 'redis') expect(await redisTtlMs(`${prefix}RefreshToken:r`)).toBeGreaterThan(20_000);
    });

    test('unconsume: only the use made at that moment, once; a deleted entry is not brought back', async () => {
      const expiresAt = Date.now() + 30_000;
      await backend.put('RefreshToken:r', entry({ kind: 'RefreshToken', expiresAt }));
      await backend.consume('RefreshToken:r', 1234);
      expect(await backend.unconsume('RefreshToken:r', 9999)).toBe(false);
      expect(await Promise.all([backend.unconsume('RefreshToken:r', 1234), backend.unconsume('RefreshToken:r', 1234)])).toEqual([true, false]);
      expect((await backend.get('RefreshToken:r'))!.consumedAt).toBeUndefined();
      expect(await backend.consume('RefreshToken:r', 5678)).toBe(true);
      await backend.delete('RefreshToken:r');
      expect(await backend.unconsume('RefreshToken:r', 5678)).toBe(false);
      expect(await backend.get('RefreshToken:r')).toBeUndefined();
    });

    test('lookup by uid, per kind', async () => {
      await backend.put('Session:s', entry({ kind: 'Session', uid: 'uid-hash' }));
      expect(await backend.getByIndex('Session', 'uid', 'uid-hash')).toMatchObject({ kind: 'Session' });
      expect(await backend.getByIndex('Interaction', 'uid', 'uid-hash')).toBeUndefined();
      expect(await backend.getByIndex('Session', 'uid', 'other')).toBeUndefined();
    });

    test('deleteByGrant: one kind, or the whole grant; other grants untouched', async () => {
      await backend.put('AccessToken:a', entry({ grantId: 'g1' }));
      await backend.put('RefreshToken:r', entry({ kind: 'RefreshToken', grantId: 'g1' }));
      await backend.put('Grant:g', entry({ kind: 'Grant', grantId: 'g1' }));
      await backend.put('AccessToken:b', entry({ grantId: 'g2' }));
      expect((await backend.grantIdsForAccount('bob')).sort()).toEqual(['g1']);
      await backend.deleteByGrant('g1', 'AccessToken');
      expect(await backend.get('AccessToken:a')).toBeUndefined();
      expect(await backend.get('RefreshToken:r')).toBeDefined();
      await backend.deleteByGrant('g1');
      expect(await backend.get('RefreshToken:r')).toBeUndefined();
      expect(await backend.get('Grant:g')).toBeUndefined();
      expect(await backend.grantIdsForAccount('bob')).toEqual([]);
      expect(await backend.get('AccessToken:b')).toBeDefined();
    });

    test('expired entries are gone after prune', async () => {
      await backend.put('AccessToken:old', entry({ expiresAt: Date.now() - 1000 }));
      await backend.put('AccessToken:new', entry());
      await backend.prune(Date.now());
      expect(await backend.get('AccessToken:old')).toBeUndefined();
      expect(await backend.get('AccessToken:new')).toBeDefined();
    });

    if (store !== 'redis') {
      test('prune(now) with an injected clock removes what has expired by then', async () => {
        await backend.put('AccessToken:a', entry({ expiresAt: Date.now() + 60_000 }));
        await backend.put('Session:s', entry({ kind: 'Session', expiresAt: Date.now() + 8 * 3600_000 }));
        expect(await backend.prune(Date.now())).toBe(0);
        expect(await backend.prune(Date.now() + 120_000)).toBe(1);
        expect(await backend.get('AccessToken:a')).toBeUndefined();
        expect(await backend.get('Session:s')).toBeDefined();
      });
    }
  });
}

describe('the adapter', () => {
  const clock = { now: Date.now() };
  let backend: StoreBackend;
  let adapter: ReturnType<ReturnType<typeof createAdapterFactory>>;
  beforeEach(() => {
    backend = createMemoryBackend();
    adapter = createAdapterFactory(backend, { now: () => clock.now })('AccessToken');
  });

  test('keys by SHA-256 of the id, stores no jti, gives it back on find', async () => {
    await adapter.upsert('raw-token-value', { jti: 'raw-token-value', accountId: 'bob', grantId: 'g1' }, 60);
    const stored = await backend.get(`AccessToken:${sha256('raw-token-value')}`);
    expect(stored).toMatchObject({ grantId: 'g1', accountId: 'bob', expiresAt: clock.now + 60_000 });
    expect(JSON.stringify(stored)).not.toContain('raw-token-value');
    expect(await adapter.find('raw-token-value')).toEqual({ jti: 'raw-token-value', accountId: 'bob', grantId: 'g1' });
    expect(await adapter.find('another-value')).toBeUndefined();
  });

  test('expired entries are not found', async () => {
    await adapter.upsert('short', { accountId: 'bob' }, 1);
    clock.now += 1000;
    expect(await adapter.find('short')).toBeUndefined();
    clock.now -= 1000;
  });

  test('a consume that loses a race refuses (invalid_grant) and revokes the grant', async () => {
    await adapter.upsert('t', { grantId: 'g1' }, 60);
    await backend.put(entryKey('Grant', 'g1'), { kind: 'Grant', payload: {}, grantId: 'g1' });
    await adapter.consume('t');
    await expect(adapter.consume('t')).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await adapter.find('t')).toBeUndefined();
    expect(await backend.get(entryKey('Grant', 'g1'))).toBeUndefined();
  });

  test('consume is reported in epoch seconds; revokeByGrantId only touches its own kind', async () => {
    await adapter.upsert('t', { grantId: 'g1' }, 60);
    await adapter.consume('t');
    expect((await adapter.find('t'))!.consumed).toBe(Math.floor(clock.now / 1000));
    await backend.put(entryKey('RefreshToken', 'r'), { kind: 'RefreshToken', payload: {}, grantId: 'g1' });
    await adapter.revokeByGrantId('g1');
    expect(await adapter.find('t')).toBeUndefined();
    expect(await backend.get(entryKey('RefreshToken', 'r'))).toBeDefined();
  });

  test('sessions: found by uid (without the raw id); interactions drop the session cookie value', async () => {
    const factory = createAdapterFactory(backend, { now: () => clock.now });
    await factory('Session').upsert('session-cookie-value', { jti: 'session-cookie-value', uid: 'public-uid', accountId: 'bob' }, 60);
    expect(await factory('Session').findByUid('public-uid')).toEqual({ uid: 'public-uid', accountId: 'bob' });
    await factory('Interaction').upsert('i1', { session: { uid: 'public-uid', cookie: 'session-cookie-value', accountId: 'bob' } }, 60);
    expect((await factory('Interaction').find('i1'))!.session).toEqual({ uid: 'public-uid', accountId: 'bob' });
  });

  test(`expired entries are pruned on write, at most every ${PRUNE_INTERVAL_MS / 1000} s`, async () => {
    await adapter.upsert('a', {}, 1);
    clock.now += 2000;
    await adapter.upsert('b', {}, 60);
    expect(await backend.get(entryKey('AccessToken', 'a'))).toBeDefined();
    clock.now += PRUNE_INTERVAL_MS;
    await adapter.upsert('c', {}, 60);
    expect(await backend.get(entryKey('AccessToken', 'a'))).toBeUndefined();
  });

  test('the write that starts a sweep does not wait for it, and a sweep that fails is logged, not the write', async () => {
    const { logger, lines } = recordingLogger();
    const sweeps = [new Promise<number>(() => {}), Promise.reject(new Error('disk I/O error'))];
    const slow = createAdapterFactory({ ...backend, prune: () => sweeps.shift()! }, { now: () => clock.now, logger })('AccessToken');
    await slow.upsert('a', {}, 60); // starts a sweep that never ends
    clock.now += PRUNE_INTERVAL_MS;
    await slow.upsert('b', {}, 60); // starts one that fails
    await setTimeout(0);
    expect(await backend.get(entryKey('AccessToken', 'b'))).toBeDefined();
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'pruning expired entries failed', error: expect.objectContaining({ message: 'disk I/O error' }) })]);
  });
});

/** A sign-in, a code exchange and a refresh: every kind of secret the IdP hands out, as issued. */
async function issueEverything(idp: TestIdp) {
  const { tokens, redirect, cookies } = await browserCodeFlow(idp);
  const rotated = (await refreshTokens(idp, tokens.refresh_token!)).body;
  return {
    code: redirect.searchParams.get('code')!,
    session: cookies.get('_session')!,
    access: tokens.access_token,
    refresh: tokens.refresh_token!,
    rotatedAccess: String(rotated.access_token),
    rotatedRefresh: String(rotated.refresh_token),
  };
}

describe('Redis without persistence', () => {
  test('the IdP refuses it unless told it may lose everything on a restart, and accepts it once it persists', async () => {
    if (!redisServerInstalled('the Redis persistence check')) return;
    const server = await startRedisServer(); // started with --save '' --appendonly no
    try {
      const config = { store: 'redis' as const, dataDir: dir, redisUrl: server.url, redisPrefix: 'idp:', redisCommandTimeoutMs: 1000 };
      await expect(openStore({ ...config, redisAllowVolatile: false })).rejects.toThrow(/no data across a restart.*--appendonly yes.*IDP_REDIS_ALLOW_VOLATILE/);
      await (await openStore({ ...config, redisAllowVolatile: true })).close();
      const admin = new Redis(server.url);
      await admin.config('SET', 'appendonly', 'yes');
      admin.disconnect();
      await (await openStore({ ...config, redisAllowVolatile: false })).close();
    } finally {
      await server.stop();
    }
  });
});

/** Whether the database file by itself, without its WAL, holds the key: a copy opened alone shows what checkpoints copied in. */
async function inFileAlone(file: string, key: string): Promise<boolean> {
  const copy = path.join(dir, `alone-${randomBytes(4).toString('hex')}.sqlite`);
  await copyFile(file, copy);
  const db = new DatabaseSync(copy, { readOnly: true });
  try {
    return db.prepare('SELECT 1 FROM oidc_entries WHERE key = ?').get(key) !== undefined;
  } catch (error) {
    // No table yet, or a copy taken halfway through a checkpoint; anything else is the test's own fault.
    if (/no such table|malformed/.test((error as Error).message)) return false;
    throw error;
  } finally {
    db.close();
    await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(copy + suffix, { force: true })));
  }
}

/** Polls until the checkpointer has copied the key into the file (false after 5 s). */
const checkpointed = (file: string, key: string) => eventually(() => inFileAlone(file, key), { withinMs: 5000 });

describe('the SQLite file', () => {
  const sqliteFile = (name: string) => path.join(dir, name, 'oidc.sqlite');

  test('its checkpointer thread copies commits into the database file, so the IdP connection never has to', async () => {
    const file = sqliteFile('checkpointer');
    const backend = createSqliteBackend(file);
    try {
      await backend.put('AccessToken:a', entry());
      // One entry is far below the connection's own wal_autocheckpoint (4,000 pages): only the checkpointer copies it in.
      expect(await checkpointed(file, 'AccessToken:a')).toBe(true);
    } finally {
      await backend.close();
    }
  });

  test('a checkpointer that cannot open the file logs why and stops; the IdP goes on without it', async () => {
    const { logger, lines } = recordingLogger();
    const checkpointer = startCheckpointer(path.join(dir, 'no-such-dir', 'oidc.sqlite'), { logger });
    await checkpointer.stop();
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'SQLite checkpointer stopped: the IdP checkpoints on its own connection', error: expect.objectContaining({ message: 'unable to open database file' }) }),
    ]);
  });

  test('closing the store closes the checkpointer connection too: the last one out removes the WAL', async () => {
    const file = sqliteFile('close');
    const backend = createSqliteBackend(file);
    await backend.put('AccessToken:a', entry());
    expect(await checkpointed(file, 'AccessToken:a')).toBe(true); // the checkpointer's connection is open
    expect(existsSync(`${file}-wal`)).toBe(true);
    await backend.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  test('prune scans the table in slices of rows and deletes every expired entry, whatever slice it is in', async () => {
    const file = sqliteFile('prune');
    const backend = createSqliteBackend(file);
    try {
      const now = Date.now();
      // Odd entries expired: the last row of each slice (rowids 5,000, 10,000, 12,000) is one of them.
      for (let i = 0; i < 12_000; i++) await backend.put(`AccessToken:${i}`, entry({ expiresAt: i % 2 ? now - 1 : now + 60_000 }));
      let yielded = false;
      setImmediate(() => (yielded = true));
      expect(await backend.prune(now)).toBe(6000);
      expect(yielded).toBe(true); // the event loop turned during the sweep
      for (const i of [4999, 9999, 11999]) expect(await backend.get(`AccessToken:${i}`)).toBeUndefined();
      expect(await backend.get('AccessToken:11998')).toBeDefined();
      expect(await backend.prune(now)).toBe(0);
    } finally {
      await backend.close();
    }
  });

  test('a sweep on a store closed meanwhile ends quietly', async () => {
    const backend = createSqliteBackend(sqliteFile('closed-sweep'));
    await backend.put('AccessToken:a', entry({ expiresAt: 1 }));
    await backend.close();
    await expect(backend.prune(Date.now())).resolves.toBe(0);
  });

  test('a file written before the expiry index was dropped loses it when opened, and keeps its entries', async () => {
    const file = sqliteFile('old-schema');
    const backend = createSqliteBackend(file);
    await backend.put('AccessToken:a', entry());
    await backend.close();
    const old = new DatabaseSync(file);
    old.exec('CREATE INDEX oidc_entries_expiry ON oidc_entries (expires_at)');
    old.close();
    const reopened = createSqliteBackend(file);
    try {
      expect(await reopened.get('AccessToken:a')).toEqual(entry({ expiresAt: expect.any(Number) as unknown as number }));
      const check = new DatabaseSync(file, { readOnly: true });
      expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'oidc_entries_expiry'").get()).toBeUndefined();
      check.close();
    } finally {
      await reopened.close();
    }
  });

  test('holds no raw token, code or session id', async () => {
    const idp = await startTestIdp({ store: 'sqlite', dataDir: path.join(dir, 'leak-check') });
    const secrets = await issueEverything(idp).finally(() => idp.close()); // closing the database checkpoints the WAL into the file
    expect(Object.values(secrets).every(Boolean)).toBe(true);
    const file = path.join(idp.config.dataDir, 'oidc.sqlite');
    const bytes = Buffer.concat([await readFile(file), ...(existsSync(`${file}-wal`) ? [await readFile(`${file}-wal`)] : [])]).toString('latin1');
    expect(bytes).toContain(sha256(secrets.refresh)); // the test looks in the right place
    for (const [name, value] of Object.entries(secrets)) expect({ name, found: bytes.includes(value) }).toEqual({ name, found: false });
  });
});
