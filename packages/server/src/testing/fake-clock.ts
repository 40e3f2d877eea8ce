/** A clock tests move by hand, so time-based rules are tested without sleeping. */
import type { Clock } from '@portcullis/core';

export interface FakeClock extends Clock {
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  set(ms: number): void;
}

/** A fake clock starting at `start` (default 2026-11-02T09:00:00Z). */
export function createFakeClock(start = Date.parse('2026-11-02T09:00:00Z')): FakeClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) { now += ms; },
    set(ms) { now = ms; },
  };
}
