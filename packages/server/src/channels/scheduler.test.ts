/** Backoff with jitter, and the timer scheduler the gateway uses outside tests. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../testing/fake-clock.js';
import { createTimerScheduler, retryDelay } from './scheduler.js';

describe('retryDelay', () => {
  it('doubles from the base up to the cap, each wait between half and all of it', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 600_000 }), fc.integer({ min: 0, max: 86_400_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, base, extra, random) => {
        const max = base + extra;
        const capped = Math.min(max, base * 2 ** (attempt - 1));
        const wait = retryDelay(attempt, base, max, () => random);
        expect(wait).toBeGreaterThanOrEqual(Math.floor(capped / 2));
        expect(wait).toBeLessThanOrEqual(capped);
      }));
    expect([1, 2, 3, 4, 10].map((a) => retryDelay(a, 30_000, 3_600_000, () => 0))).toEqual([15_000, 30_000, 60_000, 120_000, 1_800_000]);
  });
});

describe('the timer scheduler', () => {
  it('runs a callback that is due, and not one that was cancelled', async () => {
    const clock = createFakeClock();
    const scheduler = createTimerScheduler(clock);
    const ran: string[] = [];
    const cancel = scheduler.schedule(clock.now(), () => ran.push('cancelled'));
    cancel();
    await new Promise<void>((resolve) => { scheduler.schedule(clock.now() - 1000, () => { ran.push('due'); resolve(); }); });
    expect(ran).toEqual(['due']);
  });
});
