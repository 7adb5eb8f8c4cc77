/**
 * Operator revocation: `npm run idp:revoke -- --user bob` or `-- --grant <grantId>`.
 * Works on the store the IdP uses (same environment), while it runs: oidc-provider reads tokens from the store
 * on every request, so the account's refresh and access tokens stop working at once.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, ServiceError, UsageError } from '../common/errors.js';
import { readIdpConfig } from './config.js';
import type { StoreBackend } from './store/backend.js';
import { openStore } from './store/open.js';

const USAGE = 'usage: npm run idp:revoke -- --user <accountId> | --grant <grantId>';

export type RevokeTarget = { user: string } | { grant: string };

/** Every token of the grant and the grant itself; returns how many entries were deleted. */
export function revokeGrant(store: StoreBackend, grantId: string): Promise<number> {
  return store.deleteByGrant(grantId);
}

/** Every grant the account holds, with their tokens; returns the revoked grant ids. */
export async function revokeAccount(store: StoreBackend, accountId: string): Promise<string[]> {
  await store.prune(Date.now()); // expired grants are not worth reporting
  const grantIds = await store.grantIdsForAccount(accountId);
  for (const grantId of grantIds) await revokeGrant(store, grantId);
  return grantIds;
}

export function parseRevokeArgs(args: string[]): RevokeTarget {
  let values: { user?: string; grant?: string };
  try {
    ({ values } = parseArgs({ args, options: { user: { type: 'string' }, grant: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { user, grant } = values;
  if (user && !grant) return { user };
  if (grant && !user) return { grant };
  throw new UsageError(`give exactly one of --user or --grant\n${USAGE}`);
}

async function main(args: string[]) {
  const target = parseRevokeArgs(args);
  const config = readIdpConfig();
  if (config.store === 'memory') throw new ConfigError('IDP_STORE=memory lives inside the IdP process: there is nothing to revoke from here');
  const store = await openStore(config);
  try {
    if ('user' in target) {
      const grantIds = await revokeAccount(store, target.user);
      for (const grantId of grantIds) console.log(`revoked grant ${grantId}`);
      console.log(`${target.user}: ${grantIds.length} grant(s) revoked`);
    } else {
      const deleted = await revokeGrant(store, target.grant);
      console.log(deleted ? `revoked grant ${target.grant} (${deleted} entries)` : `grant ${target.grant} not found (expired or already revoked)`);
    }
  } finally {
    await store.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof ServiceError ? error.message : error);
    process.exit(1);
  });
}
