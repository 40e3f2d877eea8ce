/**
 * SHA-256 over UTF-8 text, as lowercase hex. Hashing is deterministic computation, not IO,
 * so the core may use the platform's implementation.
 */
import * as crypto from 'node:crypto';

// The one-shot `crypto.hash` (Node >= 20.12) skips creating a Hash object per call, which
// cost about as much as hashing a whole audit event; `createHash` is the fallback.
const oneShot: ((algorithm: string, data: string, encoding: 'hex') => string) | undefined = (crypto as { hash?: typeof crypto.hash }).hash;

/** SHA-256 of a string's UTF-8 bytes, lowercase hex. */
export function sha256Hex(text: string): string {
  return oneShot === undefined ? crypto.createHash('sha256').update(text, 'utf8').digest('hex') : oneShot('sha256', text, 'hex');
}
