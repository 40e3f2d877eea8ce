/** Adapters for the core's Clock and IdGenerator ports. */
import { randomBytes } from 'node:crypto';
import type { Clock, IdGenerator } from '@portcullis/core';

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Ids that sort by creation time: `<prefix>_<12 base36 chars of ms><10 random base32 chars>`.
 * Uses the given clock so ids follow an injected clock in tests.
 */
export function createIdGenerator(clock: Clock = systemClock): IdGenerator {
  return {
    next(prefix: string): string {
      const time = clock.now().toString(36).padStart(12, '0');
      const random = [...randomBytes(10)].map((b) => 'abcdefghijklmnopqrstuvwxyz234567'[b & 31]).join('');
      return `${prefix}_${time}${random}`;
    },
  };
}
