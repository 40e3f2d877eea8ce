/**
 * A workflow's daily figures (SPEC rule 7, and the guide's "review the approval rate, accuracy
 * and failure rate daily; below 90%, investigate immediately"). Invariants: the approval rate
 * counts people's decisions only — approved / (approved + rejected); a cancellation (the
 * gateway refusing to run something), an expiry (nobody decided) or an automatic approval is
 * not a decision; the failure rate is (failed + outcome unknown) / executions with an outcome.
 * A rate with nothing to divide by is null, never 0 or 1.
 */

/** What happened to a workflow's proposals, one entry per audit event that counts. */
export type FigureEntry =
  | { readonly kind: 'proposed' | 'denied' | 'cancelled' | 'expired' | 'auto_executed' | 'succeeded' | 'failed' | 'outcome_unknown' | 'breaker_tripped' }
  | { readonly kind: 'approved' | 'rejected'; /** From the proposal's creation to the person's decision, in milliseconds. */ readonly waitMs: number };

/** One calendar day of one workflow. Rates are fractions (0.95), null when nothing to divide by. */
export interface DailyFigures {
  /** The calendar day, YYYY-MM-DD, in the gateway's time zone. */
  readonly day: string;
  readonly proposals: number;
  readonly denied: number;
  readonly approved: number;
  readonly rejected: number;
  readonly cancelled: number;
  readonly expired: number;
  readonly autoExecuted: number;
  /** Executions that reached an outcome: succeeded + failed + outcome unknown. */
  readonly executed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly outcomeUnknown: number;
  readonly breakerTrips: number;
  /** approved / (approved + rejected). */
  readonly approvalRate: number | null;
  /** (failed + outcomeUnknown) / executed. */
  readonly failureRate: number | null;
  /** Time from proposal to a person's decision, in milliseconds (nearest-rank percentiles). */
  readonly approvalWaitMs: { readonly p50: number; readonly p95: number } | null;
}

/** The nearest-rank percentile `p` (0–100) of ascending `sorted`; undefined when empty. */
export function nearestRank(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

/** The figures of one day from its entries (any order). */
export function dailyFigures(day: string, entries: readonly FigureEntry[]): DailyFigures {
  const count = (kind: FigureEntry['kind']): number => entries.filter((e) => e.kind === kind).length;
  const approved = count('approved');
  const rejected = count('rejected');
  const succeeded = count('succeeded');
  const failed = count('failed');
  const outcomeUnknown = count('outcome_unknown');
  const executed = succeeded + failed + outcomeUnknown;
  const waits = entries.flatMap((e) => (e.kind === 'approved' || e.kind === 'rejected' ? [e.waitMs] : [])).sort((a, b) => a - b);
  const p50 = nearestRank(waits, 50);
  const p95 = nearestRank(waits, 95);
  return {
    day, proposals: count('proposed'), denied: count('denied'), approved, rejected,
    cancelled: count('cancelled'), expired: count('expired'), autoExecuted: count('auto_executed'),
    executed, succeeded, failed, outcomeUnknown, breakerTrips: count('breaker_tripped'),
    approvalRate: ratio(approved, approved + rejected),
    failureRate: ratio(failed + outcomeUnknown, executed),
    approvalWaitMs: p50 === undefined || p95 === undefined ? null : { p50, p95 },
  };
}

/** What makes an approval rate a reason to alert: below `below` (a fraction) over at least `minDecisions` decisions. */
export interface ApprovalRateRule {
  readonly below: number;
  readonly minDecisions: number;
}

/** Whether a day's approval rate is low enough, over enough decisions, to alert. */
export function approvalRateLow(figures: Pick<DailyFigures, 'approved' | 'rejected' | 'approvalRate'>, rule: ApprovalRateRule): boolean {
  return figures.approved + figures.rejected >= rule.minDecisions && figures.approvalRate !== null && figures.approvalRate < rule.below;
}
