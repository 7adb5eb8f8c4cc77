import { afterEach, expect, test } from '@jest/globals';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SIGNING_ALGS, generateSigningKey } from '../../idp/keys.js';
import { type TestIdp, codeFlowTokens, startTestIdp } from '../helpers/idp.js';

let idp: TestIdp | undefined;
let dataDir: string;
afterEach(async () => {
  await idp?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const mode = async (file: string) => (await stat(file)).mode & 0o777;

/** A data directory as an operator may have made it: world-readable. */
async function openDataDir() {
  dataDir = await mkdtemp(path.join(tmpdir(), 'idp-perm-'));
  await chmod(dataDir, 0o755);
  return dataDir;
}

test.each([
  ['keys from IDP_JWKS', true],
  ['keys generated into the data directory', false],
])('%s: the data directory is 0700 and every file in it 0600', async (_what, configured) => {
  const jwks = configured ? { keys: await Promise.all(SIGNING_ALGS.map(generateSigningKey)) } : undefined;
  idp = await startTestIdp({ dataDir: await openDataDir(), store: 'sqlite', jwks });
  await codeFlowTokens(idp);
  expect(await mode(dataDir)).toBe(0o700);
  const files = await readdir(dataDir);
  expect(files).toContain('oidc.sqlite');
  expect(files.includes('jwks.json')).toBe(!configured);
  for (const file of files) expect([file, await mode(path.join(dataDir, file))]).toEqual([file, 0o600]);
});
