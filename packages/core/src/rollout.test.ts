import { describe, expect, it } from 'vitest';
import { readiness, rolloutGate, stageOf, type GateEntry, type RolloutFacts } from './rollout.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-02T09:00:00Z');
const deployed: RolloutFacts = { deployedAt: T0, writeMode: 'approval' };
const good = { approved: 95, rejected: 5, breakerTrips: 0 };
const none: { uncovered: string[] } = { uncovered: [] };

describe('stages', () => {
  it('is a draft until deployed, a pilot for 7 days, then stable only while the window holds', () => {
    expect(stageOf({ writeMode: 'approval' }, T0, good, 20)).toBe('draft');
    expect(stageOf(deployed, T0 + 7 * DAY - 1, good, 20)).toBe('pilot');
    expect(stageOf(deployed, T0 + 7 * DAY, good, 20)).toBe('stable');
    expect(stageOf(deployed, T0 + 8 * DAY, { approved: 94, rejected: 6, breakerTrips: 0 }, 20)).toBe('watch');
    expect(stageOf(deployed, T0 + 8 * DAY, { ...good, breakerTrips: 1 }, 20)).toBe('watch');
    expect(stageOf(deployed, T0 + 8 * DAY, good, 101)).toBe('watch');
  });
});

describe('readiness', () => {
  const passes = (facts: RolloutFacts, now: number, window = good, writes = none) => Object.fromEntries(readiness(facts, now, window, 20, writes).map((c) => [c.name, c.pass]));

  it('refuses on day 13, allows on day 14 at 95%, refuses at 94% and with too few decisions', () => {
    expect(passes(deployed, T0 + 13 * DAY).approval_first_days).toBe(false);
    expect(Object.values(passes(deployed, T0 + 14 * DAY)).every(Boolean)).toBe(true);
    expect(passes(deployed, T0 + 14 * DAY, { approved: 94, rejected: 6, breakerTrips: 0 }).approval_rate).toBe(false);
    expect(passes(deployed, T0 + 14 * DAY, { approved: 19, rejected: 0, breakerTrips: 0 }).decisions).toBe(false);
    expect(passes(deployed, T0 + 14 * DAY, { ...good, breakerTrips: 1 }).no_breaker_trip).toBe(false);
    expect(passes(deployed, T0 + 14 * DAY, good, { uncovered: ['crm.leads.update'] }).rollback_or_fallback).toBe(false);
  });

  it('needs 7 days approval-first after a demotion', () => {
    const demoted: RolloutFacts = { ...deployed, demotedAt: T0 + 22 * DAY };
    expect(passes(demoted, T0 + 28 * DAY).approval_first_days).toBe(false);
    expect(passes(demoted, T0 + 29 * DAY).approval_first_days).toBe(true);
  });
});

describe('the rollout gate', () => {
  const w = (id: string, stage: GateEntry['stage'], department = 'sales'): GateEntry => ({ id, department, stage });

  it('deploys one workflow at a time', () => {
    expect(rolloutGate(w('b', 'draft'), [w('a', 'pilot'), w('b', 'draft')])).toMatchObject({ ok: false, reason: expect.stringMatching(/one workflow at a time: "a" \(pilot\)/) });
    expect(rolloutGate(w('b', 'draft'), [w('a', 'watch')]).ok).toBe(false);
    expect(rolloutGate(w('b', 'draft'), [w('a', 'stable')]).ok).toBe(true);
  });

  it('opens parallel rollout of adjacent workflows after three are stable', () => {
    const three = [w('a', 'stable'), w('b', 'stable'), w('c', 'stable', 'ops'), w('d', 'pilot')];
    expect(rolloutGate(w('e', 'draft'), three).ok).toBe(true);
    expect(rolloutGate(w('f', 'draft', 'finance'), three)).toMatchObject({ ok: false, reason: expect.stringMatching(/not adjacent/) });
    expect(rolloutGate(w('e', 'draft'), [w('a', 'stable'), w('b', 'stable'), w('d', 'pilot')]).ok).toBe(false);
  });

  it('refuses a workflow already deployed', () => {
    expect(rolloutGate(w('a', 'pilot'), []).ok).toBe(false);
  });
});
