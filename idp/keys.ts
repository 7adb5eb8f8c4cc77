import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK, JWKS } from 'oidc-provider';
import { ConfigError, UsageError } from '../common/errors.js';
import { privateDir } from './private-dir.js';

/** What the IdP signs with. RS256 because OIDC Core §15.1 requires it and many clients expect it. */
export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];
/** ES256 unless a client asks otherwise: signatures are 64 bytes, which keeps id tokens small enough for the app's 4 KB cookie. */
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';

/** The operator asked for a rotation step that would leave an algorithm without a key. */
export class KeyRotationError extends UsageError {}

export const keysFile = (dataDir: string) => path.join(dataDir, 'jwks.json');

/**
 * Keys from the config, else the ones kept in the data directory, generated on first start. A key set from before
 * RS256 (or ES256) gets a key for the missing algorithm, which signs at once: no token of that algorithm exists yet.
 */
export async function loadSigningKeys(dataDir: string, configured?: JWKS): Promise<JWKS> {
  if (configured) {
    const missing = missingAlgs(configured);
    if (missing.length) throw new ConfigError(`IDP_JWKS has no ${missing.join(' or ')} key: \`npm run idp:keys -- add\` prints a set with one for each algorithm`);
    return configured;
  }
  privateDir(dataDir);
  const existing = (await readKeysFile(dataDir)) ?? { keys: [] };
  const missing = missingAlgs(existing);
  if (missing.length === 0) return existing;
  const jwks = { keys: [...existing.keys, ...(await Promise.all(missing.map(generateSigningKey)))] };
  await writeKeysFile(dataDir, jwks);
  return jwks;
}

export async function readKeysFile(dataDir: string): Promise<JWKS | undefined> {
  try {
    return JSON.parse(await readFile(keysFile(dataDir), 'utf8')) as JWKS;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return undefined;
  }
}

/** Written aside then renamed: an IdP starting meanwhile reads the old set or the new one, never half a file. */
export async function writeKeysFile(dataDir: string, jwks: JWKS): Promise<void> {
  privateDir(dataDir);
  const temporary = `${keysFile(dataDir)}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  await rename(temporary, keysFile(dataDir));
}

/** Every key names its `alg` and `use`, so oidc-provider's choice among the keys of one algorithm is by position alone. */
export async function generateSigningKey(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), use: 'sig', alg };
}

/** A key's algorithm: its `alg`, else what its type implies (keys from IDP_JWKS may omit it). */
export function algOf(key: JWK): string | undefined {
  if (key.alg) return key.alg;
  if (key.kty === 'RSA') return 'RS256';
  return key.kty === 'EC' && key.crv === 'P-256' ? 'ES256' : undefined;
}

const missingAlgs = (jwks: JWKS) => SIGNING_ALGS.filter((alg) => !jwks.keys.some((key) => algOf(key) === alg));

// Rotation. oidc-provider signs with the first key of the set that fits the algorithm and publishes them all at /jwks,
// so a key's position among the keys of its algorithm is its role: the first signs, the others only verify.

/** The keys that sign: the first of each algorithm. */
export function signingKids(jwks: JWKS): Set<string | undefined> {
  return new Set(SIGNING_ALGS.map((alg) => jwks.keys.find((key) => algOf(key) === alg)?.kid));
}

/** Step 1: a new key per algorithm at the end, published at /jwks but not yet signing, so verifiers can fetch them before they are needed. */
export async function addNextKeys(jwks: JWKS): Promise<{ jwks: JWKS; kids: string[] }> {
  const keys = await Promise.all(SIGNING_ALGS.map(generateSigningKey));
  return { jwks: { keys: [...jwks.keys, ...keys] }, kids: keys.map((key) => key.kid!) };
}

/** Step 2: the key signs for its algorithm from now on; the previous one stays published, so tokens it signed still verify. */
export function promoteKey(jwks: JWKS, kid: string): JWKS {
  const key = findKey(jwks, kid);
  return { keys: [key, ...jwks.keys.filter((other) => other !== key)] };
}

/** Step 3: a key that no unexpired token can carry any more leaves the set; a signing key cannot. */
export function retireKey(jwks: JWKS, kid: string): JWKS {
  const key = findKey(jwks, kid);
  if (signingKids(jwks).has(key.kid)) throw new KeyRotationError(`key ${kid} signs ${algOf(key)}: promote another ${algOf(key)} key first`);
  return { keys: jwks.keys.filter((other) => other !== key) };
}

function findKey(jwks: JWKS, kid: string): JWK {
  const key = jwks.keys.find((candidate) => candidate.kid === kid);
  if (!key) throw new KeyRotationError(`no key ${kid}; the keys are ${jwks.keys.map((candidate) => candidate.kid).join(', ')}`);
  return key;
}
