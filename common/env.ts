/** Typed reads of environment variables: each service builds its config from these once, at start-up. */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

export function readString(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function readInt(env: Env, name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const BOOLEANS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = BOOLEANS[raw.toLowerCase()];
  if (value === undefined) throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  return value;
}

/** A comma-separated list; the first entry is the current one (keys for rotation). */
export function readList(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const list = raw.split(',').map((item) => item.trim()).filter(Boolean);
  if (list.length === 0) throw new ConfigError(`${name} must list at least one value`);
  return list;
}

export function readUrl(env: Env, name: string, fallback: string): URL {
  const raw = readString(env, name, fallback);
  try {
    return new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL, got "${raw}"`);
  }
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = readString(env, name, fallback);
  if (!allowed.includes(raw as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** Secrets shorter than this are refused: they would make the derived keys guessable. */
export function requireSecrets(name: string, secrets: string[], minLength = 16): string[] {
  for (const secret of secrets) {
    if (secret.length < minLength) throw new ConfigError(`${name}: every secret needs at least ${minLength} characters`);
  }
  return secrets;
}
