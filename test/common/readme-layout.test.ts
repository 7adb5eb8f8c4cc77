/** The README's Layout section is the map a newcomer reads first: it must name every service source file, and no other. */
import { expect, test } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVICES = ['idp', 'app', 'api', 'common'];

/** The paths the Layout block names: indentation is nesting, `a.ts · b.ts` names several files of one folder. */
function layoutPaths(readme: string): Set<string> {
  const block = /### Layout[^\n]*\n+```\n([\s\S]*?)```/.exec(readme)![1]!;
  const paths = new Set<string>();
  const parents: string[] = [];
  for (const line of block.split('\n')) {
    const match = /^( *)(\S+(?: · \S+)*)/.exec(line);
    if (!match || !/[./]/.test(match[2]!)) continue;
    const depth = match[1]!.length / 2;
    parents.length = depth;
    for (const name of match[2]!.split(' · ')) {
      if (name.endsWith('/')) parents[depth] = name.slice(0, -1);
      else paths.add([...parents.slice(0, depth), name].join('/'));
    }
  }
  return paths;
}

const sources = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(path.join(dir, entry.name)) : entry.name.endsWith('.ts') ? [path.join(dir, entry.name)] : [],
  );

test('the Layout section names exactly the source files of idp/, app/, api/ and common/', () => {
  const named = [...layoutPaths(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))].filter((file) => SERVICES.includes(file.split('/')[0]!));
  expect(named.sort()).toEqual(SERVICES.flatMap(sources).sort());
});
