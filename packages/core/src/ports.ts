/**
 * Ports the core declares for what it cannot do itself: tell the time, make ids.
 * Adapters live in the server; a fake clock for tests lives in the server's testing module.
 */

/** The current time, in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** Unique ids with a prefix, e.g. `prop_…`. */
export interface IdGenerator {
  next(prefix: string): string;
}
