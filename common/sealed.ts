import { type KeyObject, createCipheriv, createDecipheriv, createHash, createSecretKey, hkdfSync, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM sealing with a key list: the first key seals, any key opens.
 * Keys are derived once per (secret, purpose), so a transaction cookie can never be replayed as an auth cookie.
 */
export interface Sealer {
  seal(value: unknown): string;
  /** undefined for anything that is not a value this sealer produced (garbage, tampered, unknown key). */
  open(sealed: string): unknown;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KID_CHARS = 8;

export interface Key {
  kid: string;
  /** A KeyObject, not a Buffer: Node would otherwise import the raw key again on every cipher (≈ 3× slower). */
  key: KeyObject;
}

export function sealingKey(secret: string, purpose: string): Key {
  const raw = Buffer.from(hkdfSync('sha256', secret, 'oidc-bff', purpose, 32));
  return { kid: createHash('sha256').update(raw).digest('base64url').slice(0, KID_CHARS), key: createSecretKey(raw) };
}

export function sealWith({ kid, key }: Key, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return kid + iv.toString('base64url') + body.toString('base64url');
}

export function openWith(keys: readonly Key[], sealed: string): unknown {
  if (typeof sealed !== 'string' || sealed.length < KID_CHARS + 16 + 22) return undefined;
  const kid = sealed.slice(0, KID_CHARS);
  const entry = keys.find((candidate) => candidate.kid === kid);
  if (!entry) return undefined;
  const iv = Buffer.from(sealed.slice(KID_CHARS, KID_CHARS + 16), 'base64url');
  const body = Buffer.from(sealed.slice(KID_CHARS + 16), 'base64url');
  if (iv.length !== IV_BYTES || body.length <= TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', entry.key, iv);
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
    return JSON.parse(plain.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function createSealer(secrets: readonly string[], purpose: string): Sealer {
  if (secrets.length === 0) throw new Error('createSealer needs at least one secret');
  const keys = secrets.map((secret) => sealingKey(secret, purpose));
  const current = keys[0]!;
  return {
    seal: (value) => sealWith(current, value),
    open: (sealed) => openWith(keys, sealed),
  };
}
