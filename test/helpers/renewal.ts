import type { AuthSession } from '../../app/session.js';

/** A distinct, made-up session per n: renewal store tests never talk to an IdP. */
export const session = (n: number): AuthSession => ({
  idToken: `id-${n}`, accessToken: `at-${n}`, refreshToken: `rt-${n}`, claims: { sub: 'bob' },
  issuedAt: 0, expiresAt: 60_000, renewals: n,
});

/** A promise the test settles when it chooses: a refresh held in flight. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
