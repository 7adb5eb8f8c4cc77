/** Typed reads of environment variables: each service builds its config from these once, at start-up. */
import { isIP } from 'node:net';
import { ConfigError } from './errors.js';
import { LEVELS, type Level } from './log.js';

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

/** Express's `trust proxy`: true/false, a hop count, or addresses, subnets and the names loopback, linklocal, uniquelocal. */
export type TrustProxy = boolean | number | string[];

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const isProxyAddress = (entry: string) => {
  const [address = '', bits, ...rest] = entry.split('/');
  return rest.length === 0 && isIP(address) !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits) || isIP(bits) === 4);
};

/** TRUST_PROXY, read once for all three services; `loopback` unless set: a TLS terminator on the same host. */
export function readTrustProxy(env: Env): TrustProxy {
  const raw = readString(env, 'TRUST_PROXY', 'loopback').trim();
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const bad = entries.filter((entry) => !PROXY_NAMES.has(entry) && !isProxyAddress(entry));
  if (entries.length === 0 || bad.length) {
    throw new ConfigError(`TRUST_PROXY must be true, false, a hop count or addresses/subnets (or loopback, linklocal, uniquelocal), got "${raw}"`);
  }
  return entries;
}

/** Reached from this machine only: the demo's URLs. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The secrets in this repository, known to everyone: good for the demo on loopback only. */
export const DEMO_SECRETS = {
  APP_COOKIE_KEYS: 'demo-cookie-key-change-me-0001',
  IDP_COOKIE_KEYS: 'demo-idp-cookie-key-change-me-0001',
  MVC_CLIENT_SECRET: 'mvc-demo-secret-change-me',
  API_CLIENT_SECRET: 'api-demo-secret-change-me',
} as const;

export type SecretName = keyof typeof DEMO_SECRETS;

/** Where the demo's services listen when nothing is configured. */
export const DEMO_URLS = { idp: 'http://localhost:4000', app: 'http://localhost:3000', api: 'http://localhost:5000/' } as const;

// Settings that more than one service reads: one name, one default and one check for all of them.
export function readIssuer(env: Env): URL {
  const url = readUrl(env, 'IDP_ISSUER', DEMO_URLS.idp);
  if (url.search || url.hash) throw new ConfigError('IDP_ISSUER must not have a query or fragment');
  return url;
}
/** The issuer as it names itself in discovery and `iss`: without the slash URL parsing adds to a bare origin. */
export const issuerId = (issuer: URL): string => issuer.href.replace(/\/$/, '');
export const readAppBaseUrl = (env: Env): URL => readUrl(env, 'APP_BASE_URL', DEMO_URLS.app);
/** The API as a resource (RFC 8707): the IdP binds its tokens to it, the API expects it as their audience. */
export const readApiResource = (env: Env): URL => readUrl(env, 'IDP_API_RESOURCE', DEMO_URLS.api);
export const readLogLevel = (env: Env): Level => readEnum(env, 'LOG_LEVEL', LEVELS, 'info');
/** A client secret shared by the IdP and its client; the demo value unless set (refused off loopback). */
export const readSecret = (env: Env, name: SecretName): string => readString(env, name, DEMO_SECRETS[name]);
/** Cookie keys, newest first; the demo key unless set (refused off loopback). */
export const readKeys = (env: Env, name: SecretName): string[] => requireSecrets(name, readList(env, name, [DEMO_SECRETS[name]]));

/**
 * A service whose public URL is not loopback refuses to start on a missing or demo secret: with the repository's
 * values anyone could forge its cookies or act as its clients. Names every such variable at once.
 */
export function requireOwnSecrets(env: Env, publicUrl: URL, names: readonly SecretName[]): void {
  if (isLoopback(publicUrl)) return;
  const unset = names.filter((name) => readList(env, name, []).length === 0);
  const demo = names.filter((name) => readList(env, name, []).includes(DEMO_SECRETS[name]));
  if (unset.length + demo.length === 0) return;
  const problems = [unset.length ? `set ${unset.join(', ')}` : '', demo.length ? `replace the demo value of ${demo.join(', ')}` : ''].filter(Boolean);
  throw new ConfigError(`${publicUrl.href.replace(/\/$/, '')} is not a loopback address, so the demo secrets are refused: ${problems.join(' and ')}`);
}
