import { Worker } from 'node:worker_threads';
import type { Logger } from '../../common/log.js';

/** Plain JS, evaluated by the worker: a worker thread cannot load this project's TypeScript. */
const WORKER = `
  const { DatabaseSync } = require('node:sqlite');
  const { parentPort, workerData } = require('node:worker_threads');
  const db = new DatabaseSync(workerData.file);
  db.exec('PRAGMA busy_timeout = 5000');
  let failing = false;
  const timer = setInterval(() => {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)');
      failing = false;
    } catch (error) {
      if (!failing) parentPort.postMessage(error.message); // once per run of failures: a full disk fails every tick
      failing = true;
    }
  }, workerData.everyMs);
  parentPort.once('message', () => {
    clearInterval(timer);
    db.close();
    parentPort.close();
  });
`;

export interface Checkpointer {
  /** Resolves once the thread has exited, its connection closed. */
  stop(): Promise<void>;
}

/**
 * Copies the WAL back into the database file on a thread and connection of its own. On the IdP's connection a checkpoint
 * of a few thousand pages holds the event loop for tens of ms, a grant waiting; a PASSIVE one never blocks a writer.
 */
export function startCheckpointer(file: string, { everyMs = 100, logger }: { everyMs?: number; logger: Logger }): Checkpointer {
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs } });
  worker.unref(); // an IdP that forgets to close its store still exits
  worker.on('message', (reason: string) => logger.warn('SQLite checkpoint failed; retrying', { reason }));
  // Not fatal: the IdP's connection then checkpoints by itself, past wal_autocheckpoint pages.
  worker.on('error', (error) => logger.error('SQLite checkpointer stopped: the IdP checkpoints on its own connection', { error }));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      worker.ref(); // until it has closed its connection, whatever else keeps this process alive
      worker.postMessage('stop');
      await exited;
    },
  };
}
