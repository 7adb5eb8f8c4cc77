import { setTimeout } from 'node:timers/promises';

/**
 * Asks until `holds()` answers true, or `withinMs` has passed: false then. A real wait, only for what another process
 * or thread does in its own time (a killed process reaped, a checkpoint copied).
 */
export async function eventually(holds: () => boolean | Promise<boolean>, { withinMs = 2000, everyMs = 50 } = {}): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; ; await setTimeout(everyMs)) {
    if (await holds()) return true;
    if (Date.now() >= deadline) return false;
  }
}
