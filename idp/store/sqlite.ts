import path from 'node:path';
import { DatabaseSync, type SQLOutputValue } from 'node:sqlite';
import { setImmediate } from 'node:timers/promises';
import { type Logger, silentLogger } from '../../common/log.js';
import { privateDir, privateFiles } from '../private-dir.js';
import type { StoreBackend, StoredEntry } from './backend.js';
import { startCheckpointer } from './sqlite-checkpointer.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS oidc_entries (
    key         TEXT PRIMARY KEY,  -- <kind>:<sha256(id)>
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,     -- JSON, without raw ids
    grant_id    TEXT,
    account_id  TEXT,
    client_id   TEXT,
    uid         TEXT,              -- sha256 of the Session uid
    user_code   TEXT,              -- sha256 of a device flow user code
    created_at  INTEGER NOT NULL,  -- epoch ms, first write
    expires_at  INTEGER,           -- epoch ms
    consumed_at INTEGER            -- epoch ms
  ) STRICT;
  -- Partial indexes: most rows have no uid, user code or account grant, and every index entry costs on each token write.
  CREATE INDEX IF NOT EXISTS oidc_entries_grant ON oidc_entries (grant_id) WHERE grant_id IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_entries_uid ON oidc_entries (kind, uid) WHERE uid IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_entries_user_code ON oidc_entries (kind, user_code) WHERE user_code IS NOT NULL;
  CREATE INDEX IF NOT EXISTS oidc_entries_account ON oidc_entries (account_id) WHERE kind = 'Grant';
  -- No index on expires_at (older files have one): it would cost a page on every token write, ~12 % of a refresh grant,
  -- only to spare prune() a scan of ~0.4 µs a row once a minute.
  DROP INDEX IF EXISTS oidc_entries_expiry;
`;

type Row = Record<string, SQLOutputValue>;

/** Rows per slice of prune()'s scan: a few ms of work between two turns of the event loop. */
const PRUNE_SLICE = 5_000;

/** A file next to the signing keys; WAL lets the operator CLI write while the IdP runs. Owner-only: it holds grants and sessions. */
export function createSqliteBackend(file: string, { logger = silentLogger }: { logger?: Logger } = {}): StoreBackend {
  privateDir(path.dirname(file));
  // SQLite gives the -wal and -shm files it creates the database file's mode.
  privateFiles(file, [`${file}-wal`, `${file}-shm`]);
  const db = new DatabaseSync(file);
  // WAL + synchronous=NORMAL: commits survive an IdP crash; a power cut may lose the last ones, never the file.
  // The checkpointer copies the WAL back; this connection does only past 4,000 pages (16 MB), should that thread fall behind or stop.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 4000;');
  db.exec(SCHEMA);

  const columns = 'key, kind, payload, grant_id, account_id, client_id, uid, user_code, created_at, expires_at, consumed_at';
  const sql = {
    put: db.prepare(`
      INSERT INTO oidc_entries (${columns})
      VALUES (:key, :kind, :payload, :grantId, :accountId, :clientId, :uid, :userCode, :createdAt, :expiresAt, :consumedAt)
      ON CONFLICT (key) DO UPDATE SET
        kind = excluded.kind, payload = excluded.payload, grant_id = excluded.grant_id, account_id = excluded.account_id,
        client_id = excluded.client_id, uid = excluded.uid, user_code = excluded.user_code,
        expires_at = excluded.expires_at, consumed_at = excluded.consumed_at`),
    get: db.prepare(`SELECT ${columns} FROM oidc_entries WHERE key = ?`),
    byUid: db.prepare(`SELECT ${columns} FROM oidc_entries WHERE kind = ? AND uid = ?`),
    byUserCode: db.prepare(`SELECT ${columns} FROM oidc_entries WHERE kind = ? AND user_code = ?`),
    consume: db.prepare('UPDATE oidc_entries SET consumed_at = ? WHERE key = ? AND consumed_at IS NULL'),
    unconsume: db.prepare('UPDATE oidc_entries SET consumed_at = NULL WHERE key = ? AND consumed_at = ?'),
    delete: db.prepare('DELETE FROM oidc_entries WHERE key = ?'),
    deleteGrant: db.prepare('DELETE FROM oidc_entries WHERE grant_id = :grantId AND (:kind IS NULL OR kind = :kind)'),
    accountGrants: db.prepare("SELECT grant_id FROM oidc_entries WHERE account_id = ? AND kind = 'Grant'"),
    sliceEnd: db.prepare(`SELECT max(rowid) AS last FROM (SELECT rowid FROM oidc_entries WHERE rowid > ? ORDER BY rowid LIMIT ${PRUNE_SLICE})`),
    pruneSlice: db.prepare('DELETE FROM oidc_entries WHERE rowid > ? AND rowid <= ? AND expires_at <= ?'),
  };
  const checkpointer = startCheckpointer(file, { logger }); // last: nothing above can fail and leave its thread behind

  return {
    async put(key, entry) {
      sql.put.run({
        key,
        kind: entry.kind,
        payload: JSON.stringify(entry.payload),
        grantId: entry.grantId ?? null,
        accountId: entry.accountId ?? null,
        clientId: entry.clientId ?? null,
        uid: entry.uid ?? null,
        userCode: entry.userCode ?? null,
        createdAt: Date.now(),
        expiresAt: entry.expiresAt ?? null,
        consumedAt: entry.consumedAt ?? null,
      });
    },
    async get(key) {
      return toEntry(sql.get.get(key));
    },
    async getByIndex(kind, index, hash) {
      return toEntry((index === 'uid' ? sql.byUid : sql.byUserCode).get(kind, hash));
    },
    async consume(key, at) {
      return sql.consume.run(at, key).changes === 1;
    },
    async unconsume(key, at) {
      return sql.unconsume.run(key, at).changes === 1;
    },
    async delete(key) {
      sql.delete.run(key);
    },
    async deleteByGrant(grantId, kind) {
      return Number(sql.deleteGrant.run({ grantId, kind: kind ?? null }).changes);
    },
    async grantIdsForAccount(accountId) {
      return sql.accountGrants.all(accountId).map((row) => String(row.grant_id));
    },
    async prune(now) {
      // No expiry index (see SCHEMA): a scan, in slices of rows, handing the event loop back between two.
      let deleted = 0;
      for (let from = 0; db.isOpen; await setImmediate()) {
        const to = integer(sql.sliceEnd.get(from)?.last);
        if (to === undefined) return deleted;
        deleted += Number(sql.pruneSlice.run(from, to, now).changes);
        from = to;
      }
      return deleted; // closed meanwhile
    },
    async close() {
      await checkpointer.stop();
      db.close();
    },
  };
}

const text = (value: SQLOutputValue | undefined) => (typeof value === 'string' ? value : undefined);
const integer = (value: SQLOutputValue | undefined) => (typeof value === 'number' ? value : undefined);

function toEntry(row: Row | undefined): StoredEntry | undefined {
  if (!row) return undefined;
  return {
    kind: String(row.kind),
    payload: JSON.parse(String(row.payload)),
    grantId: text(row.grant_id),
    accountId: text(row.account_id),
    clientId: text(row.client_id),
    uid: text(row.uid),
    userCode: text(row.user_code),
    expiresAt: integer(row.expires_at),
    consumedAt: integer(row.consumed_at),
  };
}
