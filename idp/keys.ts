import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import type { JWK, JWKS } from 'oidc-provider';

/** ES256: signatures are 64 bytes, which keeps id tokens small enough for the app's 4 KB cookie. */
export const SIGNING_ALG = 'ES256';

/** Keys from the config, else the ones generated on first start and kept in the data directory. */
export async function loadSigningKeys(dataDir: string, configured?: JWKS): Promise<JWKS> {
  if (configured) return configured;
  const file = path.join(dataDir, 'jwks.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as JWKS;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const jwks = { keys: [await generateSigningKey()] };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(jwks, null, 2), { mode: 0o600 });
  return jwks;
}

async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), use: 'sig', alg: SIGNING_ALG };
}
