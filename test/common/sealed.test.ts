import { describe, expect, test } from '@jest/globals';
import { createSealer } from '../../common/sealed.js';

const OLD = 'old-cookie-key-0123456789';
const NEW = 'new-cookie-key-0123456789';

describe('sealer', () => {
  test('round-trips a value and hides it', () => {
    const sealer = createSealer([OLD], 'auth-cookie');
    const sealed = sealer.seal({ accessToken: 'secret-access-token' });
    expect(sealed).not.toContain('secret-access-token');
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('secret-access-token');
    expect(sealer.open(sealed)).toEqual({ accessToken: 'secret-access-token' });
  });

  test('a flipped bit anywhere (key id, IV, ciphertext, tag) is rejected', () => {
    const sealer = createSealer([OLD], 'auth-cookie');
    const sealed = sealer.seal({ a: 1 });
    // Layout: 8-character key id, then base64url of the 12-byte IV, then of ciphertext + tag.
    const kid = sealed.slice(0, 8);
    const iv = Buffer.from(sealed.slice(8, 24), 'base64url');
    const body = Buffer.from(sealed.slice(24), 'base64url');
    const flipped = (bytes: Buffer, i: number) => Buffer.from(bytes.map((byte, j) => (j === i ? byte ^ 1 : byte))).toString('base64url');
    for (let i = 0; i < kid.length; i++) {
      expect(sealer.open(kid.slice(0, i) + (kid[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1))).toBeUndefined();
    }
    for (let i = 0; i < iv.length; i++) expect(sealer.open(kid + flipped(iv, i) + sealed.slice(24))).toBeUndefined();
    for (let i = 0; i < body.length; i++) expect(sealer.open(sealed.slice(0, 24) + flipped(body, i))).toBeUndefined();
  });

  test('garbage, truncation and other purposes are rejected', () => {
    const sealer = createSealer([OLD], 'auth-cookie');
    const sealed = sealer.seal({ a: 1 });
    expect(sealer.open('')).toBeUndefined();
    expect(sealer.open('not a sealed value at all, just text')).toBeUndefined();
    expect(sealer.open(sealed.slice(0, -3))).toBeUndefined();
    expect(createSealer([OLD], 'transaction').open(sealed)).toBeUndefined();
  });

  test('key rotation: new key first still opens old values; dropping the old key retires them', () => {
    const before = createSealer([OLD], 'auth-cookie').seal({ v: 'before' });
    const rotated = createSealer([NEW, OLD], 'auth-cookie');
    expect(rotated.open(before)).toEqual({ v: 'before' });
    const after = rotated.seal({ v: 'after' });
    expect(createSealer([OLD], 'auth-cookie').open(after)).toBeUndefined();
    const retired = createSealer([NEW], 'auth-cookie');
    expect(retired.open(before)).toBeUndefined();
    expect(retired.open(after)).toEqual({ v: 'after' });
  });
});
