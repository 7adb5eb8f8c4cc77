import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NAME = 'oidc-bff-token-renewal';

/** Another project with this one installed under its name (as `npm install <path>` links it) and tsx to run TypeScript. */
let consumer: string;
beforeAll(async () => {
  consumer = await mkdtemp(path.join(tmpdir(), 'bff-consumer-'));
  await mkdir(path.join(consumer, 'node_modules'));
  await symlink(ROOT, path.join(consumer, 'node_modules', NAME));
  await symlink(path.join(ROOT, 'node_modules', 'tsx'), path.join(consumer, 'node_modules', 'tsx'));
});
afterAll(async () => {
  await rm(consumer, { recursive: true, force: true });
});

test(`another project imports the library by name: import { createBffAuth } from '${NAME}'`, async () => {
  await writeFile(
    path.join(consumer, 'app.ts'),
    `import { createBffAuth, readAppConfig, requireAuth } from '${NAME}';\nconsole.log([createBffAuth, readAppConfig, requireAuth].map((f) => typeof f).join(' '));\n`,
  );
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: consumer, encoding: 'utf8', timeout: 30_000 });
  expect(out.trim()).toBe('function function function');
});
