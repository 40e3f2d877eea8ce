/**
 * SHA-256 over UTF-8 text, as lowercase hex. Hashing is deterministic computation, not IO,
 * so the core may use the platform's implementation.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of a string's UTF-8 bytes, lowercase hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
