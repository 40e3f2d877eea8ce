/**
 * Sealing of system credentials: AES-256-GCM under the master key, a fresh random 12-byte
 * nonce for every seal, and the secret's (system, name) as associated data, so a sealed value
 * copied onto another secret's row does not open. Invariants: a plain value never leaves
 * `openSecret` except as its return value; opening fails (never returns garbage) on a wrong
 * key, a changed byte of nonce, ciphertext or tag, or a moved entry; a master key never
 * shows in JSON, `util.inspect` or an error message, only its id.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { PortcullisError } from '@portcullis/core';

/** The format version of a sealed value. */
const SEALED_FORMAT = 'v1';
const NONCE_BYTES = 12;
const KEY_BYTES = 32;

/** A 32-byte master key with its id. The bytes are private; printing it shows only the id. */
export class MasterKey {
  readonly #bytes: Buffer;
  /** `mk_` and 16 hex digits of an HMAC of the key: names the key without revealing it. */
  readonly id: string;
  /** Where the key came from, for messages: `PORTCULLIS_MASTER_KEY` or `key file /path`. */
  readonly source: string;

  constructor(bytes: Buffer, source: string) {
    if (bytes.length !== KEY_BYTES) throw new PortcullisError('SECRET_UNAVAILABLE', `the master key from ${source} is ${bytes.length} bytes; it must be ${KEY_BYTES} random bytes in base64 (make one with \`portcullis vault new-key --out FILE\`)`);
    this.#bytes = Buffer.from(bytes);
    this.source = source;
    this.id = `mk_${createHmac('sha256', this.#bytes).update('portcullis vault key id v1').digest('hex').slice(0, 16)}`;
  }

  /** The key bytes, for the cipher only. */
  bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): string {
    return `MasterKey(${this.id})`;
  }

  [inspect.custom](): string {
    return `MasterKey(${this.id})`;
  }
}

/**
 * Parses a master key written as base64 (standard or URL-safe) of exactly 32 bytes.
 * @throws PortcullisError SECRET_UNAVAILABLE naming `source` (never the text) when it is not one.
 */
export function parseMasterKey(text: string, source: string): MasterKey {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    throw new PortcullisError('SECRET_UNAVAILABLE', `the master key from ${source} is not base64; it must be 32 random bytes in base64 (make one with \`portcullis vault new-key --out FILE\`)`);
  }
  return new MasterKey(Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64'), source);
}

/** A new random master key, as the base64 text to store. */
export function newMasterKeyText(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** Which secret a sealed value belongs to. */
export interface SecretAddress {
  readonly system: string;
  readonly name: string;
}

function associatedData(address: SecretAddress): Buffer {
  return Buffer.from(JSON.stringify(['portcullis-vault', SEALED_FORMAT, address.system, address.name]), 'utf8');
}

/** Seals a plain value for `address` under `key`: `v1.<nonce>.<ciphertext>.<tag>`, base64url parts. */
export function sealSecret(key: MasterKey, address: SecretAddress, plain: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes(), nonce);
  cipher.setAAD(associatedData(address));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [SEALED_FORMAT, nonce, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/**
 * Opens a value sealed for `address`. The caller checks the key id first, so a failure here
 * means the entry itself was altered (or sealed for another secret).
 * @throws PortcullisError SECRET_UNAVAILABLE when it does not open.
 */
export function openSecret(key: MasterKey, address: SecretAddress, sealed: string): string {
  const where = `${address.system}/${address.name}`;
  const parts = sealed.split('.');
  const [format, nonce, ciphertext, tag] = parts.map((p, i) => (i === 0 ? p : Buffer.from(p, 'base64url')));
  if (parts.length !== 4 || format !== SEALED_FORMAT || !(nonce instanceof Buffer) || nonce.length !== NONCE_BYTES || !(tag instanceof Buffer) || tag.length !== 16 || !(ciphertext instanceof Buffer)) {
    throw new PortcullisError('SECRET_UNAVAILABLE', `vault secret ${where} is not in a format this Portcullis reads (expected ${SEALED_FORMAT}); set it again with \`portcullis vault set ${address.system} ${address.name}\``, { system: address.system, name: address.name });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes(), nonce, { authTagLength: 16 });
    decipher.setAAD(associatedData(address));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new PortcullisError('SECRET_UNAVAILABLE', `vault secret ${where} failed its integrity check (AES-GCM): the stored entry was altered, corrupted or moved from another secret, and is refused; set it again with \`portcullis vault set ${address.system} ${address.name}\``, { system: address.system, name: address.name });
  }
}
