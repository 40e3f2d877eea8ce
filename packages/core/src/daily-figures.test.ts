import { describe, expect, it } from 'vitest';
import { approvalRateLow, dailyFigures, nearestRank, type FigureEntry } from './daily-figures.js';

const many = (n: number, entry: FigureEntry): FigureEntry[] => Array.from({ length: n }, () => entry);

describe('daily figures', () => {
  it('counts people\'s decisions only in the approval rate, and unknown outcomes as failures', () => {
    const figures = dailyFigures('2026-11-02', [
      ...many(12, { kind: 'proposed' }),
      { kind: 'approved', waitMs: 60_000 }, { kind: 'approved', waitMs: 120_000 }, { kind: 'approved', waitMs: 180_000 },
      { kind: 'rejected', waitMs: 600_000 },
      { kind: 'cancelled' }, { kind: 'cancelled' }, { kind: 'expired' }, { kind: 'auto_executed' }, { kind: 'denied' },
      { kind: 'succeeded' }, { kind: 'succeeded' }, { kind: 'failed' }, { kind: 'outcome_unknown' },
    ]);
    expect(figures).toEqual({
      day: '2026-11-02', proposals: 12, denied: 1, approved: 3, rejected: 1, cancelled: 2, expired: 1, autoExecuted: 1,
      executed: 4, succeeded: 2, failed: 1, outcomeUnknown: 1, breakerTrips: 0,
      approvalRate: 0.75, failureRate: 0.5, approvalWaitMs: { p50: 120_000, p95: 600_000 },
    });
  });

  it('has no rate where there is nothing to divide by', () => {
    expect(dailyFigures('2026-11-02', [{ kind: 'cancelled' }])).toMatchObject({ approvalRate: null, failureRate: null, approvalWaitMs: null });
  });

  it('takes nearest-rank percentiles', () => {
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(nearestRank([7], 95)).toBe(7);
    expect(nearestRank([], 50)).toBeUndefined();
  });

  it('alerts under 90% only with enough decisions', () => {
    const rule = { below: 0.9, minDecisions: 10 };
    const day = (approved: number, rejected: number) => dailyFigures('d', [...many(approved, { kind: 'approved', waitMs: 1 }), ...many(rejected, { kind: 'rejected', waitMs: 1 })]);
    expect(approvalRateLow(day(89, 11), rule)).toBe(true);
    expect(approvalRateLow(day(90, 10), rule)).toBe(false);
    expect(approvalRateLow(day(8, 1), rule)).toBe(false);
    expect(approvalRateLow(day(8, 2), rule)).toBe(true);
  });
});
