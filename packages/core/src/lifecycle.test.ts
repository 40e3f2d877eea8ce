import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FINAL_STATUSES, OPEN_STATUSES, PROPOSAL_EVENTS, PROPOSAL_STATUSES, SETTLED_STATUSES, TRANSITIONS, isSettled, transition, type ProposalEvent, type ProposalStatus } from './lifecycle.js';

/**
 * The legal edges, written out by hand from SPEC section 1 (Proposal lifecycle) and
 * deliberately not derived from TRANSITIONS: a change to the state machine must change
 * this table too.
 */
const EXPECTED: Record<string, ProposalStatus> = {
  'proposed/deny': 'denied',
  'proposed/require_approval': 'pending_approval',
  'proposed/auto_approve': 'approved',
  'pending_approval/approve': 'approved',
  'pending_approval/reject': 'rejected',
  'pending_approval/expire': 'expired',
  'pending_approval/cancel': 'cancelled',
  'approved/start_execution': 'executing',
  'approved/cancel': 'cancelled',
  'executing/succeed': 'succeeded',
  'executing/fail': 'failed',
  'executing/lose_outcome': 'outcome_unknown',
  'succeeded/roll_back': 'rolled_back',
  'outcome_unknown/resolve_succeeded': 'succeeded',
  'outcome_unknown/resolve_failed': 'failed',
};

const PAIRS = PROPOSAL_STATUSES.flatMap((status) => PROPOSAL_EVENTS.map((event) => [status, event] as const));

describe('transition: every state x event', () => {
  it('covers the full product of statuses and events', () => {
    expect(PROPOSAL_STATUSES).toHaveLength(12);
    expect(PROPOSAL_EVENTS).toHaveLength(14);
    expect(PAIRS).toHaveLength(12 * 14);
    // Every key of the expected table names a real status and event (no typos hiding an edge).
    for (const key of Object.keys(EXPECTED)) {
      const [status, event] = key.split('/') as [ProposalStatus, ProposalEvent];
      expect(PROPOSAL_STATUSES).toContain(status);
      expect(PROPOSAL_EVENTS).toContain(event);
    }
  });

  it.each(PAIRS)('%s + %s', (status, event) => {
    const expected = EXPECTED[`${status}/${event}`];
    const result = transition(status, event);
    if (expected === undefined) {
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error).toContain(status);
      expect(result.error).toContain(event.replace(/_/g, ' '));
    } else {
      expect(result).toEqual({ ok: true, status: expected });
    }
  });

  it('TRANSITIONS lists exactly the expected edges', () => {
    const edges: Record<string, ProposalStatus> = {};
    for (const [status, byEvent] of Object.entries(TRANSITIONS)) {
      for (const [event, next] of Object.entries(byEvent)) if (next !== undefined) edges[`${status}/${event}`] = next;
    }
    expect(edges).toEqual(EXPECTED);
  });

  it('final statuses accept no event, and say so', () => {
    expect([...FINAL_STATUSES].sort()).toEqual(['cancelled', 'denied', 'expired', 'failed', 'rejected', 'rolled_back']);
    for (const status of FINAL_STATUSES) {
      for (const event of PROPOSAL_EVENTS) {
        const result = transition(status, event);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error).toContain('final');
      }
    }
  });

  it('open and settled statuses split every status once; only open ones move on without a person', () => {
    expect([...OPEN_STATUSES, ...SETTLED_STATUSES].sort()).toEqual([...PROPOSAL_STATUSES].sort());
    expect([...SETTLED_STATUSES].sort()).toEqual(['cancelled', 'denied', 'expired', 'failed', 'outcome_unknown', 'rejected', 'rolled_back', 'succeeded']);
    for (const status of PROPOSAL_STATUSES) expect(isSettled(status)).toBe(SETTLED_STATUSES.includes(status));
    // Every final status is settled; an open status always has a way on.
    for (const status of FINAL_STATUSES) expect(isSettled(status)).toBe(true);
    for (const status of OPEN_STATUSES) expect(Object.keys(TRANSITIONS[status]).length).toBeGreaterThan(0);
  });

  it('an illegal transition lists what the status can do instead', () => {
    const result = transition('pending_approval', 'start_execution');
    expect(result).toEqual({ ok: false, error: expect.stringContaining('approve, reject, expire, cancel') });
  });
});

describe('who ends a proposal', () => {
  it('rejected is reached only by a person rejecting; the gateway refusing to run cancels', () => {
    const into = (target: ProposalStatus) => PAIRS.filter(([status, event]) => {
      const result = transition(status, event);
      return result.ok && result.status === target;
    });
    expect(into('rejected')).toEqual([['pending_approval', 'reject']]);
    expect(into('cancelled')).toEqual([['pending_approval', 'cancel'], ['approved', 'cancel']]);
  });
});

describe('executing', () => {
  it('is reachable only from approved, only by start_execution', () => {
    const into = PAIRS.filter(([status, event]) => {
      const result = transition(status, event);
      return result.ok && result.status === 'executing';
    });
    expect(into).toEqual([['approved', 'start_execution']]);
  });

  it('is never left back towards approved or executing', () => {
    const after: ProposalStatus[] = ['executing', 'succeeded', 'failed', 'outcome_unknown', 'rolled_back'];
    for (const status of after) {
      for (const event of PROPOSAL_EVENTS) {
        const result = transition(status, event);
        if (result.ok) expect(['approved', 'executing', 'pending_approval', 'proposed']).not.toContain(result.status);
      }
    }
  });

  it('property: along any event sequence a proposal enters executing at most once', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PROPOSAL_EVENTS), { maxLength: 60 }), (events) => {
        let status: ProposalStatus = 'proposed';
        let entered = 0;
        for (const event of events) {
          const result = transition(status, event);
          if (!result.ok) continue; // refused: the status does not change
          if (result.status === 'executing') {
            expect(status).toBe('approved');
            entered += 1;
          }
          status = result.status;
        }
        expect(entered).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: the lifecycle can actually reach executing (the property above is not vacuous)', () => {
    const path: ProposalEvent[] = ['require_approval', 'approve', 'start_execution', 'succeed', 'roll_back'];
    let status: ProposalStatus = 'proposed';
    const seen: ProposalStatus[] = [];
    for (const event of path) {
      const result = transition(status, event);
      expect(result.ok).toBe(true);
      if (result.ok) status = result.status;
      seen.push(status);
    }
    expect(seen).toEqual(['pending_approval', 'approved', 'executing', 'succeeded', 'rolled_back']);
  });
});

describe('regressions: bugs found and fixed in review', () => {
  // BUG: transition looks events up with `TRANSITIONS[status][event]`, so an event read from
  // untrusted input that names an Object.prototype member ("toString", "constructor") is
  // "legal" and yields a function as the next status. Fix: use Object.hasOwn before the lookup.
  it('refuses an event that names an Object.prototype member', () => {
    for (const event of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      expect(transition('proposed', event as ProposalEvent).ok).toBe(false);
    }
  });

  // BUG: an unknown status (e.g. a corrupted store row) throws a TypeError instead of returning
  // the documented error value. Fix: guard `Object.hasOwn(TRANSITIONS, status)`.
  it('returns an error value for an unknown status', () => {
    expect(transition('bogus' as ProposalStatus, 'deny').ok).toBe(false);
  });
});
