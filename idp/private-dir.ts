import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';

/** The data directory holds signing keys, tokens and accounts: owner-only, however and whenever it was made. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** `file` exists and is owner-only before anything writes to it; so are the companions already there (SQLite's -wal, -shm). */
export function privateFiles(file: string, companions: string[] = []): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const name of [file, ...companions]) if (existsSync(name)) chmodSync(name, 0o600);
}
