import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK, JWKS } from 'oidc-provider';

/** ES256: signatures are 64 bytes, which keeps id tokens small enough for the app's 4 KB cookie. */
export const SIGNING_ALG = 'ES256';

export class KeyRotationError extends Error {
  override name = 'KeyRotationError';
}

export const keysFile = (dataDir: string) => path.join(dataDir, 'jwks.json');

/** Keys from the config, else the ones generated on first start and kept in the data directory. */
export async function loadSigningKeys(dataDir: string, configured?: JWKS): Promise<JWKS> {
  if (configured) return configured;
  const existing = await readKeysFile(dataDir);
  if (existing) return existing;
  const jwks = { keys: [await generateSigningKey()] };
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
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temporary = `${keysFile(dataDir)}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  await rename(temporary, keysFile(dataDir));
}

/** Every key carries the same `alg` and `use`, so oidc-provider's choice among them is by position alone. */
export async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), use: 'sig', alg: SIGNING_ALG };
}

// Rotation. oidc-provider signs with the first key of the set that fits the algorithm and publishes them all at /jwks,
// so a key's position is its role: first signs, the others only verify.

/** The key that signs (the first). */
export function signingKid(jwks: JWKS): string | undefined {
  return jwks.keys[0]?.kid;
}

/** Step 1: a new key at the end, published at /jwks but not yet signing, so verifiers can fetch it before it is needed. */
export async function addNextKey(jwks: JWKS): Promise<{ jwks: JWKS; kid: string }> {
  const key = await generateSigningKey();
  return { jwks: { keys: [...jwks.keys, key] }, kid: key.kid! };
}

/** Step 2: the key signs from now on; the previous one stays published, so tokens it signed still verify. */
export function promoteKey(jwks: JWKS, kid: string): JWKS {
  const key = findKey(jwks, kid);
  return { keys: [key, ...jwks.keys.filter((other) => other !== key)] };
}

/** Step 3: a key that no unexpired token can carry any more leaves the set; the signing key cannot. */
export function retireKey(jwks: JWKS, kid: string): JWKS {
  const key = findKey(jwks, kid);
  if (key === jwks.keys[0]) throw new KeyRotationError(`key ${kid} signs: promote another key first`);
  return { keys: jwks.keys.filter((other) => other !== key) };
}

function findKey(jwks: JWKS, kid: string): JWK {
  const key = jwks.keys.find((candidate) => candidate.kid === kid);
  if (!key) throw new KeyRotationError(`no key ${kid}; the keys are ${jwks.keys.map((candidate) => candidate.kid).join(', ')}`);
  return key;
}
