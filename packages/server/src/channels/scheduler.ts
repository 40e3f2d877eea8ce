/**
 * When a delivery's next attempt runs. The notifier asks a `Scheduler` to run an attempt at a
 * time of its clock, so tests drive retries with a fake clock and a manual scheduler
 * (testing/manual-scheduler.ts) instead of sleeping through the backoff.
 */
import type { Clock } from '@portcullis/core';

/** Runs callbacks at times of a clock. */
export interface Scheduler {
  /** Runs `run` once at `at` (ms since the epoch, by the notifier's clock) or soon after; returns a function that cancels it. */
  schedule(at: number, run: () => void): () => void;
}

/** The longest wait a Node timer takes (about 24.8 days); a later time is waited for in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** A scheduler on Node's timers (unref'd, so a pending retry never keeps a process alive). */
export function createTimerScheduler(clock: Clock): Scheduler {
  return {
    schedule(at, run) {
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        const wait = at - clock.now();
        timer = setTimeout(wait > MAX_TIMER_MS ? arm : run, Math.min(Math.max(0, wait), MAX_TIMER_MS));
        timer.unref();
      };
      arm();
      return () => { if (timer !== undefined) clearTimeout(timer); };
    },
  };
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failed: exponential backoff with
 * "equal jitter" (half the capped exponential wait, plus a random part of the other half), so
 * receivers that failed together are not retried together, and no wait is shorter than half.
 * @param random a number in [0, 1) (injected, so tests are deterministic)
 * @returns milliseconds
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const capped = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(capped / 2 + (capped / 2) * random());
}
