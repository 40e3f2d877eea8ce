/**
 * Earned automation (SPEC rules 6, 7 and 11, and the guide's timeline): a workflow runs
 * approval-first for at least two weeks, is automated only when people approved at least 95% of
 * its proposals for a week, falls back under 90%, and workflows roll out one at a time until
 * three are stable. Pure rules over facts the service reads (when the workflow was deployed,
 * promoted, demoted) and figures it counts from the trail.
 *
 * Stages: `draft` (configured, not deployed: nothing executes) → `pilot` (the first 7 days after
 * deployment) → `watch` (after the pilot, until stable) → `stable` (the window — the last 7
 * complete calendar days — has no breaker trip, an approval rate of at least 95%, and at least
 * the minimum of decisions). A stable workflow falls back to `watch` when the window no longer
 * holds. Only the `write` class is ever automated; `high` never is.
 */

export const STAGES = ['draft', 'pilot', 'watch', 'stable'] as const;
export type Stage = (typeof STAGES)[number];

const DAY_MS = 86_400_000;

/** The numbers of the guide's timeline. Durations in days; rates as fractions. */
export const ROLLOUT_RULES = Object.freeze({
  pilotDays: 7,
  stableWindowDays: 7,
  stableRate: 0.95,
  promoteAfterDays: 14,
  repromoteAfterDays: 7,
  demoteBelow: 0.9,
  stableWorkflowsForParallel: 3,
});

/** What is stored about a workflow's rollout. Times in milliseconds since the epoch. */
export interface RolloutFacts {
  /** When it was deployed (draft → pilot); absent while a draft. */
  readonly deployedAt?: number;
  /** The write class's mode in force. */
  readonly writeMode: 'approval' | 'auto';
  /** Automated by the config's override (audited at start), not by promotion. */
  readonly byOverride?: boolean;
  readonly promotedAt?: number;
  readonly demotedAt?: number;
}

/** The window's figures: people's decisions and breaker trips over the last complete days. */
export interface WindowFigures {
  readonly approved: number;
  readonly rejected: number;
  readonly breakerTrips: number;
}

/** The approval rate of a window, or null without decisions. */
export function windowRate(window: WindowFigures): number | null {
  const decisions = window.approved + window.rejected;
  return decisions === 0 ? null : window.approved / decisions;
}

/** Whether a window holds for stability (and for promotion): no trip, rate ≥ 95%, enough decisions. */
export function windowHolds(window: WindowFigures, minDecisions: number): boolean {
  const rate = windowRate(window);
  return window.breakerTrips === 0 && window.approved + window.rejected >= minDecisions && rate !== null && rate >= ROLLOUT_RULES.stableRate;
}

/** The stage of a workflow now. */
export function stageOf(facts: RolloutFacts, now: number, window: WindowFigures, minDecisions: number): Stage {
  if (facts.deployedAt === undefined) return 'draft';
  if (now - facts.deployedAt < ROLLOUT_RULES.pilotDays * DAY_MS) return 'pilot';
  return windowHolds(window, minDecisions) ? 'stable' : 'watch';
}

/** One criterion of the readiness report: its number, what it needs, and whether it passes. */
export interface Criterion {
  readonly name: 'approval_first_days' | 'approval_rate' | 'decisions' | 'no_breaker_trip' | 'rollback_or_fallback';
  readonly value: number | null;
  readonly needed: string;
  readonly pass: boolean;
  /** In words, for the report. */
  readonly detail: string;
}

/** What promotion needs to know about the workflow's write actions. */
export interface WriteActions {
  /** Write-class actions the workflow may run that have neither a rollback nor a declared manual fallback. */
  readonly uncovered: readonly string[];
}

/**
 * The readiness report for promoting a workflow's `write` class: at least 14 days approval-first
 * since deployment (7 since a demotion); a window approval rate of at least 95% with at least
 * `minDecisions` decisions; no breaker trip in the window; every write action reversible or
 * declared irreversible with a manual fallback.
 */
export function readiness(facts: RolloutFacts, now: number, window: WindowFigures, minDecisions: number, writes: WriteActions): Criterion[] {
  const since = facts.demotedAt ?? facts.deployedAt;
  const neededDays = facts.demotedAt === undefined ? ROLLOUT_RULES.promoteAfterDays : ROLLOUT_RULES.repromoteAfterDays;
  const days = since === undefined ? null : Math.floor((now - since) / DAY_MS);
  const rate = windowRate(window);
  const decisions = window.approved + window.rejected;
  const pct = (r: number): string => `${(r * 100).toFixed(1).replace(/\.0$/, '')}%`;
  return [
    {
      name: 'approval_first_days', value: days, needed: `≥ ${neededDays} days`, pass: days !== null && days >= neededDays,
      detail: since === undefined ? 'not deployed: a draft' : `${days} days approval-first since ${facts.demotedAt === undefined ? 'deployment' : 'the demotion'}`,
    },
    { name: 'approval_rate', value: rate, needed: `≥ ${pct(ROLLOUT_RULES.stableRate)}`, pass: rate !== null && rate >= ROLLOUT_RULES.stableRate, detail: rate === null ? 'no decisions in the window' : `${pct(rate)} over the last ${ROLLOUT_RULES.stableWindowDays} days` },
    { name: 'decisions', value: decisions, needed: `≥ ${minDecisions}`, pass: decisions >= minDecisions, detail: `${decisions} decisions over the last ${ROLLOUT_RULES.stableWindowDays} days` },
    { name: 'no_breaker_trip', value: window.breakerTrips, needed: '0', pass: window.breakerTrips === 0, detail: `${window.breakerTrips} breaker trips over the last ${ROLLOUT_RULES.stableWindowDays} days` },
    {
      name: 'rollback_or_fallback', value: writes.uncovered.length, needed: '0 write actions without one', pass: writes.uncovered.length === 0,
      detail: writes.uncovered.length === 0 ? 'every write action has a rollback or a declared manual fallback' : `no rollback and no declared manual fallback: ${writes.uncovered.join(', ')}`,
    },
  ];
}

/** A workflow as the rollout gate sees it. */
export interface GateEntry {
  readonly id: string;
  readonly department: string;
  readonly stage: Stage;
}

/**
 * Whether `target` (a draft) may be deployed now: not while another deployed workflow is in
 * `pilot` or `watch` — unless at least three workflows are `stable` and the target is adjacent
 * to one (in the same department as a stable workflow), when it may roll out in parallel.
 */
export function rolloutGate(target: GateEntry, workflows: readonly GateEntry[]): { ok: true; reason: string } | { ok: false; reason: string } {
  if (target.stage !== 'draft') return { ok: false, reason: `workflow "${target.id}" is deployed already (${target.stage})` };
  const others = workflows.filter((w) => w.id !== target.id);
  const rolling = others.filter((w) => w.stage === 'pilot' || w.stage === 'watch');
  const stable = others.filter((w) => w.stage === 'stable');
  if (rolling.length === 0) return { ok: true, reason: 'no other workflow is in pilot or watch' };
  const list = rolling.map((w) => `"${w.id}" (${w.stage})`).join(', ');
  if (stable.length < ROLLOUT_RULES.stableWorkflowsForParallel) {
    return { ok: false, reason: `one workflow at a time: ${list} must be stable first (${stable.length} of ${ROLLOUT_RULES.stableWorkflowsForParallel} stable workflows needed before adjacent ones roll out in parallel)` };
  }
  const neighbour = stable.find((w) => w.department === target.department);
  if (neighbour === undefined) {
    return { ok: false, reason: `${list} ${rolling.length === 1 ? 'is' : 'are'} still rolling out, and "${target.id}" is not adjacent to a stable workflow (no stable workflow in department "${target.department}")` };
  }
  return { ok: true, reason: `${stable.length} workflows are stable and "${target.id}" is adjacent to "${neighbour.id}" (department "${target.department}"): parallel rollout` };
}
