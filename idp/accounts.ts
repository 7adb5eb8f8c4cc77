import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { ConfigError } from '../common/errors.js';
import type { Account, FindAccount } from 'oidc-provider';

/** Claims released to clients; which ones a client sees depends on the scopes (see `claims` in provider.ts). */
export interface AccountClaims {
  name: string;
  given_name: string;
  family_name: string;
  email: string;
  email_verified: boolean;
  role: string;
}

export interface AccountRecord {
  sub: string;
  username: string;
  /** `scrypt$<salt>$<hash>`, both base64url; make one with hashPassword(). */
  passwordHash: string;
  claims: AccountClaims;
}

export class AccountsFileError extends ConfigError {}

/** Used when there is no accounts file, by an IdP on loopback only (the demo). The hash is of "secret": the clear password is not in the source. */
export const DEFAULT_ACCOUNTS: readonly AccountRecord[] = [
  {
    sub: 'bob',
    username: 'bob',
    passwordHash: 'scrypt$TOSVw6SR-6lPzeUlTKPv3A$cjIsM4qDE4QA6PSnGwSsuDu8W1gS0NjJ-G4SVHhkdgM',
    claims: { name: 'Bob Smith', given_name: 'Bob', family_name: 'Smith', email: 'bob@example.com', email_verified: true, role: 'user' },
  },
];

// Checked when the username is unknown, so a wrong username costs as much time as a wrong password.
const DUMMY_HASH = 'scrypt$Azp7IK996BsxC4sPKTmK9g$P_1aYfu7ssI0oyggpa3s6a1jGfxy6q7Ab9bbkCMepsE';
const KEY_LENGTH = 32;
const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, KEY_LENGTH);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}

export interface AccountStore {
  /** The account id for valid credentials, undefined otherwise. */
  authenticate(username: string, password: string): Promise<string | undefined>;
  findAccount: FindAccount;
}

/**
 * Accounts are re-read whenever the file changes, so an edit (a new role, a removed user) applies at the next token request.
 * `builtIn`: the accounts while there is no file.
 */
export function createAccountStore(file: string, builtIn: readonly AccountRecord[] = DEFAULT_ACCOUNTS): AccountStore {
  const current = accountsOf(file, builtIn);
  return {
    async authenticate(username, password) {
      const account = (await current()).find((candidate) => candidate.username === username);
      const valid = await verifyPassword(password, account?.passwordHash ?? DUMMY_HASH);
      return valid && account ? account.sub : undefined;
    },
    async findAccount(_ctx, sub): Promise<Account | undefined> {
      const account = (await current()).find((candidate) => candidate.sub === sub);
      if (!account) return undefined;
      return { accountId: account.sub, claims: () => ({ sub: account.sub, ...account.claims }) };
    },
  };
}

/** A stat per call instead of a read and a parse: the refresh path asks for the account on every grant. */
function accountsOf(file: string, builtIn: readonly AccountRecord[]): () => Promise<readonly AccountRecord[]> {
  let cached: { version: string; accounts: Promise<readonly AccountRecord[]> } | undefined;
  return async () => {
    const version = await stat(file).then(
      (info) => `${info.mtimeMs}:${info.size}`,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return 'none';
        throw error;
      },
    );
    if (cached?.version !== version) cached = { version, accounts: version === 'none' ? Promise.resolve(builtIn) : readAccounts(file, builtIn) };
    return cached.accounts;
  };
}

export async function readAccounts(file: string, builtIn: readonly AccountRecord[] = DEFAULT_ACCOUNTS): Promise<readonly AccountRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return builtIn;
    throw error;
  }
  let accounts: unknown;
  try {
    accounts = JSON.parse(text);
  } catch {
    throw new AccountsFileError(`${file} is not valid JSON`);
  }
  if (!Array.isArray(accounts) || !accounts.every(isAccountRecord)) {
    throw new AccountsFileError(`${file} must be a JSON array of { sub, username, passwordHash, claims }`);
  }
  return accounts;
}

function isAccountRecord(value: unknown): value is AccountRecord {
  const record = value as Partial<AccountRecord> | null;
  return (
    typeof record?.sub === 'string' &&
    typeof record.username === 'string' &&
    typeof record.passwordHash === 'string' &&
    typeof record.claims === 'object' &&
    record.claims !== null
  );
}
