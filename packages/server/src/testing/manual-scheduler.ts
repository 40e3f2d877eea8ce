/**
 * A scheduler tests drive by hand (channels/scheduler.ts): nothing runs until the test says so,
 * and running the next callback first moves the fake clock to its time, so retries with
 * backoff are tested without sleeping and without fixed waits.
 */
import type { Scheduler } from '../channels/scheduler.js';
import type { FakeClock } from './fake-clock.js';

export interface ManualScheduler extends Scheduler {
  /** How many callbacks are waiting. */
  pending(): number;
  /** When the next callback is due, if any. */
  nextAt(): number | undefined;
  /** Moves the clock to the next callback's time (never back) and runs it; false when none waits. */
  runNext(): boolean;
}

/** Creates a manual scheduler over a fake clock. */
export function createManualScheduler(clock: FakeClock): ManualScheduler {
  const queue: Array<{ at: number; run: () => void; order: number }> = [];
  let order = 0;
  const next = () => [...queue].sort((a, b) => a.at - b.at || a.order - b.order)[0];
  return {
    schedule(at, run) {
      const entry = { at, run, order: (order += 1) };
      queue.push(entry);
      return () => { const i = queue.indexOf(entry); if (i !== -1) queue.splice(i, 1); };
    },
    pending: () => queue.length,
    nextAt: () => next()?.at,
    runNext() {
      const entry = next();
      if (entry === undefined) return false;
      queue.splice(queue.indexOf(entry), 1);
      if (entry.at > clock.now()) clock.set(entry.at);
      entry.run();
      return true;
    },
  };
}
