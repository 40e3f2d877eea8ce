/**
 * SPEC rule 2 as a property: for any workflow mode and any sequence of API calls (proposals of
 * every kind, approvals and rejections by anyone, expiry, repeated execution attempts), no
 * high-risk action executes without an approval by an authorised person, and no proposal
 * executes twice. A config that tries to automate high risk is refused by the loader; the
 * property then also runs the gateway on that config as if the loader had let it through, so
 * the gateway's own policy, not only the loader, is what keeps high risk gated.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CompiledConfig } from '../config/compiled.js';
import { formatConfigErrors, parseConfigText } from '../config/load.js';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';

type Who = 'dana' | 'dele' | 'fay' | 'tom' | 'ada' | 'agent';
/** Which proposal a decision or execution is aimed at: one of the high-risk ones, or any. */
interface Target { readonly high: boolean; readonly pick: number }
type Command =
  | { kind: 'propose'; action: 'read' | 'route' | 'status' | 'delete' | 'create'; id: number }
  | { kind: 'approve' | 'reject'; who: Who; target: Target }
  | { kind: 'execute'; target: Target }
  | { kind: 'wait'; minutes: number };

// Authorised approvers (Dana leads sales, Dele is her delegate) are drawn as often as everyone else together.
const who = fc.oneof(fc.constantFrom<Who>('dana', 'dele'), fc.constantFrom<Who>('fay', 'tom', 'ada', 'agent'));
const target = fc.record({ high: fc.boolean(), pick: fc.nat() });
const command: fc.Arbitrary<Command> = fc.oneof(
  // Deletes (high risk) are drawn as often as the other actions together.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('propose' as const), action: fc.oneof(fc.constant('delete' as const), fc.constantFrom('read', 'route', 'status', 'create' as const)), id: fc.integer({ min: 1, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('approve' as const, 'approve' as const, 'reject' as const), who, target }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('execute' as const), target }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 90 }) }) },
);
const modes = fc.record({
  read: fc.constantFrom('auto', 'approval'),
  write: fc.constantFrom('auto', 'approval'),
  high: fc.constantFrom('auto', 'approval', undefined),
});

const NUM_RUNS = 40;

function paramsFor(c: Extract<Command, { kind: 'propose' }>, now: number) {
  switch (c.action) {
    case 'read': return { action: 'crm.leads.read', params: { ids: [c.id] } };
    case 'route': return { action: 'crm.leads.update', params: { ids: [c.id], set: { owner_id: 'rep-x' } } };
    case 'status': return { action: 'crm.leads.update', params: { ids: [c.id], set: { status: 'won' } } };
    case 'delete': return { action: 'crm.leads.delete', params: { ids: [c.id] } };
    case 'create': return { action: 'crm.leads.create', params: { values: { name: 'n', email: 'e', region: 'na', created_at: new Date(now).toISOString() } } };
  }
}

/** The compiled config with every workflow's high-risk mode set to auto, as the loader never allows. */
function automateHighRisk(config: CompiledConfig): CompiledConfig {
  const workflows = new Map([...config.workflows].map(([id, w]) => [id, Object.freeze({ ...w, mode: Object.freeze({ ...w.mode, high: 'auto' as const }) })]));
  return Object.freeze({ ...config, workflows });
}

/**
 * Plays the commands. Returns how many calls were attempts to run a high-risk proposal: a
 * high-risk proposal the grants and scope let through to the approval gate (it runs at once
 * if that gate is missing), and an approval or execution aimed at a high-risk proposal that is
 * still waiting for a decision or approved.
 */
async function play(harness: Harness, commands: readonly Command[]): Promise<number> {
  const proposals: { id: string; high: boolean }[] = [];
  let attempts = 0;
  const pick = async (t: Target): Promise<{ id: string; live: boolean } | undefined> => {
    const pool = t.high ? proposals.filter((p) => p.high) : proposals;
    const chosen = pool[t.pick % Math.max(pool.length, 1)];
    if (chosen === undefined) return undefined;
    const status = (await harness.gateway.store.getProposal(chosen.id))?.status;
    return { id: chosen.id, live: chosen.high && (status === 'pending_approval' || status === 'approved') };
  };
  for (const c of commands) {
    if (c.kind === 'propose') {
      const res = (await proposeAs(harness, 'agent', { workflow: 'route-leads', ...paramsFor(c, harness.clock.now()) })).json() as { id?: string; status?: string; decision?: { risk?: string } };
      if (res.id === undefined) continue;
      const high = res.decision?.risk === 'high';
      proposals.push({ id: res.id, high });
      if (high && res.status !== 'denied') attempts += 1;
    } else if (c.kind === 'approve' || c.kind === 'reject') {
      const chosen = await pick(c.target);
      if (chosen === undefined) continue;
      if (c.kind === 'approve' && chosen.live) attempts += 1;
      await harness.request(c.who, { method: 'POST', url: `/v1/approvals/${chosen.id}/${c.kind}`, payload: { reason: 'r' } });
    } else if (c.kind === 'execute') {
      const chosen = await pick(c.target);
      if (chosen === undefined) continue;
      if (chosen.live) attempts += 1;
      await harness.gateway.service.executeApproved(chosen.id).catch(() => undefined);
    } else if (c.kind === 'wait') {
      harness.clock.advance(c.minutes * 60_000);
      await harness.gateway.service.expireDue();
    }
  }
  return attempts;
}

describe('property: high-risk actions never execute without an authorised approval', () => {
  it('holds for any config and any sequence of calls', async () => {
    let runs = 0;
    let runsWithAttempts = 0;
    let highRiskExecutions = 0;
    await fc.assert(fc.asyncProperty(modes, fc.boolean(), fc.array(command, { minLength: 5, maxLength: 25, size: 'medium' }), async (mode, allowOwner, commands) => {
      const modeYaml = (high: string | undefined): string => `mode: { read: ${mode.read}, write: ${mode.write}${high === undefined ? '' : `, high: ${high}`} }`;
      const tryingToAutomate = mode.high === 'auto';
      if (tryingToAutomate) {
        // The loader refuses it, naming mode.high and nothing else (every key distinct, so only the mode is wrong).
        const yaml = harnessConfig({ mode: modeYaml('auto'), allowOwnerApproval: allowOwner });
        const parsed = parseConfigText(yaml, { kinds: SYSTEM_KINDS, source: 'p.yaml', baseDir: '/tmp', env: new Proxy({}, { get: (_target, name) => `key-${String(name)}` }) });
        expect(parsed.ok).toBe(false);
        if (parsed.ok) return;
        expect(parsed.errors).toHaveLength(1);
        expect(formatConfigErrors(parsed.errors)).toMatch(/workflows\.route-leads\.mode\.high: high-risk actions always need approval/);
      }
      const harness = await openHarness({
        configYaml: harnessConfig({ mode: modeYaml(tryingToAutomate ? 'approval' : mode.high), allowOwnerApproval: allowOwner }),
        ...(tryingToAutomate ? { adjustConfig: automateHighRisk } : {}),
      });
      try {
        expect(harness.gateway.config.workflows.get('route-leads')?.mode.high).toBe(tryingToAutomate ? 'auto' : 'approval');
        const attempts = await play(harness, commands);
        runs += 1;
        if (attempts > 0) runsWithAttempts += 1;
        const trail = await auditTrail(harness);
        const approvers = harness.gateway.config.workflows.get('route-leads')?.approvers.approvers ?? new Set();
        const started = new Map<string, number>();
        for (const event of trail.filter((e) => e.type === 'execution.started')) {
          const id = event.proposalId ?? '';
          started.set(id, (started.get(id) ?? 0) + 1);
          const proposal = await harness.gateway.store.getProposal(id);
          if (proposal?.decision.risk !== 'high') continue;
          highRiskExecutions += 1;
          const approval = trail.find((e) => e.type === 'approval.granted' && e.proposalId === id && e.seq < event.seq);
          expect(approval, `high-risk ${id} (${proposal.action}) executed without approval`).toBeDefined();
          expect(approval?.actor.kind).toBe('person');
          expect(approvers.has(approval?.actor.id ?? '')).toBe(true);
        }
        for (const [id, count] of started) expect(count, `${id} executed ${count} times`).toBe(1);
      } finally {
        await harness.close();
      }
    }), { numRuns: NUM_RUNS });
    // The property is only as good as the runs that reach the gate: most of them must.
    expect(runs).toBe(NUM_RUNS);
    expect(runsWithAttempts, `runs that tried to run a high-risk proposal: ${runsWithAttempts} of ${runs}`).toBeGreaterThanOrEqual(NUM_RUNS / 2);
    expect(highRiskExecutions, 'high-risk proposals run after an authorised approval').toBeGreaterThan(0);
  }, 120_000);
});
