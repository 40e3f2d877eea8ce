/** Adapters for the core's Clock and IdGenerator ports. */
import { randomFillSync } from 'node:crypto';
import type { Clock, IdGenerator } from '@portcullis/core';

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const RANDOM_CHARS = 10;
/** Random bytes are drawn from the system in blocks: one call per id costs a syscall each. */
const POOL_BYTES = 4096;

/**
 * Ids that sort by creation time: `<prefix>_<12 base36 chars of ms><10 random base32 chars>`.
 * Uses the given clock so ids follow an injected clock in tests.
 */
export function createIdGenerator(clock: Clock = systemClock): IdGenerator {
  const pool = Buffer.alloc(POOL_BYTES);
  let used = POOL_BYTES;
  return {
    next(prefix: string): string {
      const time = clock.now().toString(36).padStart(12, '0');
      if (used + RANDOM_CHARS > POOL_BYTES) { randomFillSync(pool); used = 0; }
      let random = '';
      for (let i = 0; i < RANDOM_CHARS; i += 1) random += BASE32[(pool[used + i] as number) & 31];
      used += RANDOM_CHARS;
      return `${prefix}_${time}${random}`;
    },
  };
}
