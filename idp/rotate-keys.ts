/**
 * Signing-key rotation, ES256 and RS256 side by side: `npm run idp:keys -- list | add | promote <kid>… | retire <kid>…`.
 * Edits `<IDP_DATA_DIR>/jwks.json`; when IDP_JWKS is set it prints the new set instead, to be put there.
 * The IdP reads its keys when it starts: restart every instance after each step.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { JWKS } from 'oidc-provider';
import { ServiceError, UsageError } from '../common/errors.js';
import { readIdpConfig } from './config.js';
import { addNextKeys, algOf, loadSigningKeys, promoteKey, retireKey, signingKids, writeKeysFile } from './keys.js';

const USAGE = 'usage: npm run idp:keys -- list | add | promote <kid>... | retire <kid>...';

export type KeyCommand = { command: 'list' } | { command: 'add' } | { command: 'promote' | 'retire'; kids: string[] };

export function parseKeyArgs(args: string[]): KeyCommand {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args, allowPositionals: true, strict: true }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const [command, ...kids] = positionals;
  if ((command === 'list' || command === 'add') && kids.length === 0) return { command };
  if ((command === 'promote' || command === 'retire') && kids.length > 0) return { command, kids };
  throw new UsageError(USAGE);
}

export function describeKeys(jwks: JWKS): string {
  const signing = signingKids(jwks);
  return jwks.keys.map((key) => `${key.kid}  ${algOf(key)}  ${signing.has(key.kid) ? 'signing and published' : 'published only'}`).join('\n');
}

/** The key set after the command, and what to tell the operator. */
export async function applyKeyCommand(jwks: JWKS, command: Exclude<KeyCommand, { command: 'list' }>): Promise<{ jwks: JWKS; message: string }> {
  switch (command.command) {
    case 'add': {
      const added = await addNextKeys(jwks);
      return { jwks: added.jwks, message: `added ${added.kids.join(' ')}, published but not signing; promote them once every verifier can have fetched /jwks` };
    }
    case 'promote':
      return {
        jwks: command.kids.reduce(promoteKey, jwks),
        message: `${command.kids.join(' ')} sign from now on; retire the old keys once the tokens they signed have expired`,
      };
    case 'retire':
      return { jwks: command.kids.reduce(retireKey, jwks), message: `retired ${command.kids.join(' ')}: tokens they signed no longer verify` };
  }
}

async function main(args: string[]) {
  const command = parseKeyArgs(args);
  const config = readIdpConfig();
  // IDP_JWKS as it is, even without a key for each algorithm: `add` is how it gets one.
  const jwks = config.jwks ?? (await loadSigningKeys(config.dataDir));
  if (command.command === 'list') return console.log(describeKeys(jwks));
  const next = await applyKeyCommand(jwks, command);
  if (config.jwks) {
    console.log(JSON.stringify(next.jwks));
    console.error(`${next.message}\nIDP_JWKS is set: put the key set above into it, then restart every IdP instance`);
    return;
  }
  await writeKeysFile(config.dataDir, next.jwks);
  console.log(`${next.message}\n${describeKeys(next.jwks)}\nrestart every IdP instance to apply`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof ServiceError ? error.message : error);
    process.exit(1);
  });
}
