import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRANT_VERBS, checkGrant, compileGrants, parseGrant, type Grant } from './grants.js';
import { APPROVAL_FIRST, DENIAL_CODES, MODES, OUTCOMES, evaluatePolicy, type ActionType, type Mode, type PolicyContext, type PolicyRequest, type WorkflowPolicy } from './policy.js';
import { HIGH_RISK_TAGS, RISK_CLASSES, VERBS, defaultRisk, resolveRisk, type HighRiskTag, type RiskClass, type Verb } from './risk.js';

const ALL_AUTO: Readonly<Record<RiskClass, Mode>> = { read: 'auto', write: 'auto', high: 'auto' };
const ACTIVE: PolicyContext = { agentActive: true, workflowActive: true };

function action(verb: Verb, overrides: Partial<ActionType> = {}): ActionType {
  const tags = overrides.tags ?? [];
  const resolved = resolveRisk(verb, tags);
  if (!resolved.ok) throw new Error(resolved.error);
  return {
    name: `crm.leads.${verb}`, system: 'crm', resource: 'leads', verb, tags,
    risk: resolved.value.risk, riskWhy: resolved.value.why, reversible: verb !== 'send',
    ...overrides,
  };
}

function grants(...texts: string[]): Grant[] {
  return texts.map((text) => {
    const parsed = parseGrant(text);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  });
}

function workflow(grantTexts: string[], overrides: Partial<WorkflowPolicy> = {}): WorkflowPolicy {
  return {
    id: 'wf-leads', agent: 'agent-1', department: 'sales', mode: APPROVAL_FIRST,
    grants: compileGrants(grants(...grantTexts)), bounds: { maxRecordsPerAction: 10 },
    ...overrides,
  };
}

function request(act: ActionType, fields: string[] = [], overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return { agent: 'agent-1', action: act, fields, ...overrides };
}

describe('deny by default', () => {
  it('with no grant at all, a write is denied GRANT_DENIED naming the grant needed', () => {
    const decision = evaluatePolicy(workflow([]), request(action('update'), ['owner_id']), ACTIVE);
    expect(decision.outcome).toBe('deny');
    expect(decision.code).toBe('GRANT_DENIED');
    expect(decision.reasons.join(' ')).toContain('"crm:leads:update"');
  });

  it('with no grant, even a read in an all-auto workflow is denied', () => {
    const decision = evaluatePolicy(workflow([], { mode: ALL_AUTO }), request(action('read')), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'deny', code: 'GRANT_DENIED' });
    expect(decision.reasons.join(' ')).toContain('"crm:leads:read"');
  });

  it('a grant on another resource, system or verb does not help', () => {
    const wf = workflow(['crm:contacts:update', 'erp:leads:update', 'crm:leads:read', 'crm:leads:create'], { mode: ALL_AUTO });
    const decision = evaluatePolicy(wf, request(action('update'), ['owner_id']), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'deny', code: 'GRANT_DENIED' });
  });

  it('a delete needs a delete grant: write does not cover it', () => {
    const decision = evaluatePolicy(workflow(['crm:leads:write']), request(action('delete'), [], { recordCount: 1 }), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'deny', code: 'GRANT_DENIED', risk: 'high' });
    expect(decision.reasons.join(' ')).toContain('"crm:leads:delete"');
  });
});

describe('field-level grants', () => {
  const wf = workflow(['crm:leads:read', 'crm:leads.owner_id:update'], { mode: ALL_AUTO });

  it('allow a write of the granted field', () => {
    expect(evaluatePolicy(wf, request(action('update'), ['owner_id']), ACTIVE)).toMatchObject({ outcome: 'allow', risk: 'write' });
  });

  it('deny the whole write when it also touches another field, naming that field (not trimmed)', () => {
    const decision = evaluatePolicy(wf, request(action('update'), ['owner_id', 'status']), ACTIVE);
    expect(decision.outcome).toBe('deny');
    expect(decision.code).toBe('FIELDS_OUTSIDE_GRANT');
    const reason = decision.reasons.join(' ');
    expect(reason).toContain('leads.status');
    expect(reason).not.toContain('leads.owner_id');
    expect(reason).toContain('nothing is trimmed');
  });

  it('name every field outside the grant', () => {
    const decision = evaluatePolicy(wf, request(action('update'), ['email', 'owner_id', 'status']), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'deny', code: 'FIELDS_OUTSIDE_GRANT' });
    expect(decision.reasons.join(' ')).toContain('leads.email, leads.status');
  });

  it('do not cover a write that touches no named field', () => {
    expect(evaluatePolicy(wf, request(action('update'), []), ACTIVE)).toMatchObject({ outcome: 'deny', code: 'GRANT_DENIED' });
  });
});

describe('approval-first by default', () => {
  it('APPROVAL_FIRST is read auto, write and high approval, and frozen', () => {
    expect(APPROVAL_FIRST).toEqual({ read: 'auto', write: 'approval', high: 'approval' });
    expect(Object.isFrozen(APPROVAL_FIRST)).toBe(true);
  });

  const wf = workflow(['crm:leads:read', 'crm:leads:write', 'crm:leads:delete', 'crm:leads:send']);

  it('a granted write needs approval', () => {
    const decision = evaluatePolicy(wf, request(action('update'), ['owner_id']), ACTIVE);
    expect(decision).toEqual({ outcome: 'needs_approval', risk: 'write', reasons: expect.arrayContaining([expect.stringContaining('approval-first')]) });
    expect(evaluatePolicy(wf, request(action('create'), ['name']), ACTIVE).outcome).toBe('needs_approval');
  });

  it('a granted read runs without approval', () => {
    const decision = evaluatePolicy(wf, request(action('read')), ACTIVE);
    expect(decision.outcome).toBe('allow');
    expect(decision.risk).toBe('read');
    expect(decision.code).toBeUndefined();
  });

  it('a granted high-risk action needs approval', () => {
    expect(evaluatePolicy(wf, request(action('delete'), [], { recordCount: 1 }), ACTIVE)).toMatchObject({ outcome: 'needs_approval', risk: 'high' });
    expect(evaluatePolicy(wf, request(action('send')), ACTIVE)).toMatchObject({ outcome: 'needs_approval', risk: 'high' });
  });

  it('a read set to approval needs approval; a write set to auto runs (the mode is what decides)', () => {
    const strict = workflow(['crm:leads:read'], { mode: { read: 'approval', write: 'approval', high: 'approval' } });
    expect(evaluatePolicy(strict, request(action('read')), ACTIVE).outcome).toBe('needs_approval');
    const promoted = workflow(['crm:leads:write'], { mode: { read: 'auto', write: 'auto', high: 'approval' } });
    expect(evaluatePolicy(promoted, request(action('update'), ['x']), ACTIVE).outcome).toBe('allow');
  });
});

describe('high risk stays gated', () => {
  // A WorkflowPolicy built directly, bypassing any config validation, that says auto for every class.
  const wf = workflow(['crm:leads:delete', 'crm:leads:send', 'crm:leads:pay', 'crm:leads:write', 'crm:leads:read'], { mode: ALL_AUTO });

  it.each(['delete', 'send', 'pay'] as const)('%s needs approval even when the mode says auto for every class', (verb) => {
    const decision = evaluatePolicy(wf, request(action(verb), [], { recordCount: 1 }), ACTIVE);
    expect(decision.outcome).toBe('needs_approval');
    expect(decision.risk).toBe('high');
    expect(decision.reasons.join(' ')).toContain("always need a person's approval");
  });

  it.each(HIGH_RISK_TAGS)('an update tagged %s needs approval in an all-auto workflow', (tag) => {
    const decision = evaluatePolicy(wf, request(action('update', { tags: [tag] }), ['amount']), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'needs_approval', risk: 'high' });
  });

  it('an update raised to high by configuration needs approval in an all-auto workflow', () => {
    const decision = evaluatePolicy(wf, request(action('update', { risk: 'high', riskWhy: 'high risk: raised by configuration' }), ['x']), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'needs_approval', risk: 'high' });
  });
});

describe('bounds', () => {
  const wf = workflow(['crm:leads:write'], { mode: ALL_AUTO, bounds: { maxRecordsPerAction: 5, maxActionsPerRun: 3, maxActionsPerHour: 20 } });
  const upd = action('update');

  it('maxRecordsPerAction: at the limit runs, one over is denied', () => {
    expect(evaluatePolicy(wf, request(upd, ['x'], { recordCount: 5 }), ACTIVE).outcome).toBe('allow');
    const decision = evaluatePolicy(wf, request(upd, ['x'], { recordCount: 6 }), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'deny', code: 'BOUND_EXCEEDED' });
    expect(decision.reasons.join(' ')).toContain('at most 5 per action');
  });

  it('maxActionsPerRun: the action that would exceed the run is denied', () => {
    expect(evaluatePolicy(wf, request(upd, ['x']), { ...ACTIVE, actionsThisRun: 2 }).outcome).toBe('allow');
    const decision = evaluatePolicy(wf, request(upd, ['x']), { ...ACTIVE, actionsThisRun: 3 });
    expect(decision).toMatchObject({ outcome: 'deny', code: 'BOUND_EXCEEDED' });
    expect(decision.reasons.join(' ')).toContain('at most 3 per run');
  });

  it('maxActionsPerHour: the action that would exceed the hour is denied', () => {
    expect(evaluatePolicy(wf, request(upd, ['x']), { ...ACTIVE, actionsThisHour: 19 }).outcome).toBe('allow');
    const decision = evaluatePolicy(wf, request(upd, ['x']), { ...ACTIVE, actionsThisHour: 20 });
    expect(decision).toMatchObject({ outcome: 'deny', code: 'BOUND_EXCEEDED' });
    expect(decision.reasons.join(' ')).toContain('at most 20');
  });

  it('a bound exceeded denies a high-risk action too, rather than asking a person', () => {
    const high = workflow(['crm:leads:delete'], { bounds: { maxRecordsPerAction: 1 } });
    expect(evaluatePolicy(high, request(action('delete'), [], { recordCount: 2 }), ACTIVE)).toMatchObject({ outcome: 'deny', code: 'BOUND_EXCEEDED' });
  });

  it('unset per-run and per-hour bounds do not limit', () => {
    const open = workflow(['crm:leads:write'], { mode: ALL_AUTO, bounds: { maxRecordsPerAction: 5 } });
    expect(evaluatePolicy(open, request(upd, ['x']), { ...ACTIVE, actionsThisRun: 1e6, actionsThisHour: 1e6 }).outcome).toBe('allow');
  });
});

describe('agent and workflow state', () => {
  const wf = workflow(['crm:leads:read', 'crm:leads:write'], { mode: ALL_AUTO });

  it('an agent that is not the workflow\'s is denied, whatever it is granted', () => {
    const decision = evaluatePolicy(wf, request(action('read'), [], { agent: 'agent-2' }), ACTIVE);
    expect(decision).toMatchObject({ outcome: 'deny', code: 'AGENT_NOT_IN_WORKFLOW' });
    expect(decision.reasons.join(' ')).toContain('"agent-2"');
  });

  it('a disabled agent is denied', () => {
    const decision = evaluatePolicy(wf, request(action('read')), { agentActive: false, workflowActive: true });
    expect(decision).toMatchObject({ outcome: 'deny', code: 'AGENT_DISABLED' });
  });

  it('a disabled workflow is denied', () => {
    const decision = evaluatePolicy(wf, request(action('update'), ['x']), { agentActive: true, workflowActive: false });
    expect(decision).toMatchObject({ outcome: 'deny', code: 'WORKFLOW_DISABLED' });
  });

  it('a disabled workflow denies a high-risk action rather than queueing it for approval', () => {
    const high = workflow(['crm:leads:delete']);
    const decision = evaluatePolicy(high, request(action('delete'), [], { recordCount: 1 }), { agentActive: true, workflowActive: false });
    expect(decision).toMatchObject({ outcome: 'deny', code: 'WORKFLOW_DISABLED', risk: 'high' });
  });
});

describe('properties', () => {
  const systems = ['crm', 'erp'] as const;
  const resources = ['leads', 'invoices'] as const;
  const fieldNames = ['owner_id', 'status', 'amount'] as const;
  const modeArb = fc.record({ read: fc.constantFrom(...MODES), write: fc.constantFrom(...MODES), high: fc.constantFrom(...MODES) });
  const grantArb: fc.Arbitrary<Grant> = fc.oneof(
    fc.record({ system: fc.constantFrom(...systems), resource: fc.constantFrom(...resources), verb: fc.constantFrom(...GRANT_VERBS) }),
    fc.record({
      system: fc.constantFrom(...systems), resource: fc.constantFrom(...resources), field: fc.constantFrom(...fieldNames),
      verb: fc.constantFrom('read', 'create', 'update', 'write') as fc.Arbitrary<Grant['verb']>,
    }),
  );
  const contextArb: fc.Arbitrary<PolicyContext> = fc.record({
    agentActive: fc.boolean(), workflowActive: fc.boolean(),
    actionsThisRun: fc.option(fc.nat(50), { nil: undefined }), actionsThisHour: fc.option(fc.nat(50), { nil: undefined }),
  });
  const boundsArb = fc.record({
    maxRecordsPerAction: fc.nat(20),
    maxActionsPerRun: fc.option(fc.nat(50), { nil: undefined }),
    maxActionsPerHour: fc.option(fc.nat(50), { nil: undefined }),
  });
  const workflowArb: fc.Arbitrary<WorkflowPolicy> = fc.record({
    id: fc.constant('wf'), agent: fc.constantFrom('a1', 'a2'), department: fc.constant('sales'),
    mode: modeArb, grants: fc.array(grantArb, { maxLength: 10 }).map(compileGrants), bounds: boundsArb,
  });
  const tagsArb = fc.uniqueArray(fc.constantFrom(...HIGH_RISK_TAGS), { maxLength: 4 });

  /** An action whose verb is delete/send/pay, or which carries a high-risk tag; its class resolved as the config loader would. */
  const highActionArb: fc.Arbitrary<ActionType> = fc.oneof(
    fc.record({ verb: fc.constantFrom<Verb>('delete', 'send', 'pay'), tags: tagsArb }),
    fc.record({ verb: fc.constantFrom(...VERBS), tags: tagsArb.filter((t) => t.length > 0) }),
  ).chain(({ verb, tags }) => fc.record({
    verb: fc.constant(verb), tags: fc.constant(tags as HighRiskTag[]),
    configured: fc.option(fc.constantFrom(...RISK_CLASSES), { nil: undefined }),
    system: fc.constantFrom(...systems), resource: fc.constantFrom(...resources),
  })).map(({ verb, tags, configured, system, resource }) => {
    // Config that tries to lower the class is refused at load; the action then keeps its floor.
    const resolved = resolveRisk(verb, tags, configured);
    const assessment = resolved.ok ? resolved.value : { risk: defaultRisk(verb, tags), why: 'floor' };
    return { name: `${system}.${resource}.${verb}`, system, resource, verb, tags, risk: assessment.risk, riskWhy: assessment.why, reversible: false };
  });

  const requestArb = (act: fc.Arbitrary<ActionType>): fc.Arbitrary<PolicyRequest> => fc.record({
    agent: fc.constantFrom('a1', 'a2'), action: act,
    fields: fc.uniqueArray(fc.constantFrom(...fieldNames)), recordCount: fc.option(fc.nat(30), { nil: undefined }),
  });

  it('never allows a high-risk action: arbitrary modes (incl. high auto), grants, delete/send/pay or tagged actions', () => {
    fc.assert(
      fc.property(workflowArb, requestArb(highActionArb), contextArb, (wf, req, ctx) => {
        expect(req.action.risk).toBe('high');
        const decision = evaluatePolicy(wf, req, ctx);
        expect(decision.outcome).not.toBe('allow');
        expect(decision.risk).toBe('high');
      }),
      { numRuns: 3000 },
    );
  });

  it('the property above is not vacuous: high-risk actions do reach needs_approval under all-auto modes', () => {
    let reached = 0;
    fc.assert(
      fc.property(requestArb(highActionArb), (req) => {
        const act = req.action;
        const wf: WorkflowPolicy = {
          id: 'wf', agent: req.agent, department: 'sales', mode: ALL_AUTO, bounds: { maxRecordsPerAction: 100 },
          grants: compileGrants([{ system: act.system, resource: act.resource, verb: act.verb }]),
        };
        const decision = evaluatePolicy(wf, req, ACTIVE);
        expect(decision.outcome).toBe('needs_approval');
        reached += 1;
      }),
    );
    expect(reached).toBeGreaterThan(0);
  });

  it('never allows any action whose class is high, whatever its verb', () => {
    const anyHigh = fc.record({
      name: fc.constant('x'), system: fc.constantFrom(...systems), resource: fc.constantFrom(...resources),
      verb: fc.constantFrom(...VERBS), risk: fc.constant<RiskClass>('high'), riskWhy: fc.constant('high'),
      tags: tagsArb, reversible: fc.boolean(),
    });
    fc.assert(fc.property(workflowArb, requestArb(anyHigh), contextArb, (wf, req, ctx) => {
      expect(evaluatePolicy(wf, req, ctx).outcome).not.toBe('allow');
    }), { numRuns: 2000 });
  });

  it('every decision is well formed, and nothing is allowed or sent for approval without a grant', () => {
    const anyAction = fc.record({
      name: fc.constant('x'), system: fc.constantFrom(...systems), resource: fc.constantFrom(...resources),
      verb: fc.constantFrom(...VERBS), tags: fc.constant([] as HighRiskTag[]), reversible: fc.boolean(), riskWhy: fc.constant('why'),
    }).map((a) => ({ ...a, risk: defaultRisk(a.verb) }));
    fc.assert(fc.property(workflowArb, requestArb(anyAction), contextArb, (wf, req, ctx) => {
      const decision = evaluatePolicy(wf, req, ctx);
      expect(OUTCOMES).toContain(decision.outcome);
      expect(decision.reasons.length).toBeGreaterThan(0);
      expect(decision.risk).toBe(req.action.risk);
      if (decision.outcome === 'deny') {
        expect(DENIAL_CODES).toContain(decision.code);
        return;
      }
      expect(decision.code).toBeUndefined();
      expect(req.agent).toBe(wf.agent);
      expect(ctx.agentActive && ctx.workflowActive).toBe(true);
      expect(checkGrant(wf.grants, req.action.system, req.action.resource, req.action.verb, req.fields)).toEqual({ kind: 'granted' });
      if (decision.outcome === 'allow') expect(wf.mode[decision.risk]).toBe('auto');
    }), { numRuns: 2000 });
  });
});

describe('regressions: bugs found and fixed in review', () => {
  // BUG: evaluatePolicy trusts `action.risk` alone. An ActionType whose verb is delete/send/pay
  // or which carries a high-risk tag, but whose `risk` says 'write' (a loader bug, a stale
  // cache, a hand-built ActionType), is allowed in a workflow whose write mode is auto. Rule 2
  // says no path may auto-run a high-risk action. Fix: in evaluatePolicy compute
  // `const risk = maxRisk(action.risk, defaultRisk(action.verb, action.tags))`.
  it('a delete mislabelled write is still never allowed', () => {
    const wf = workflow(['crm:leads:delete', 'crm:leads:write'], { mode: { read: 'auto', write: 'auto', high: 'approval' } });
    const mislabelled = action('delete', { risk: 'write', riskWhy: 'write: delete changes data' });
    const decision = evaluatePolicy(wf, request(mislabelled, [], { recordCount: 1 }), ACTIVE);
    expect(decision.outcome).not.toBe('allow');
  });
});
