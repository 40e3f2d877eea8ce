/**
 * SPEC rule 2 as a property: for any workflow mode the config accepts and any sequence of
 * API calls (proposals of every kind, approvals and rejections by anyone, expiry, repeated
 * execution attempts), no high-risk action executes without an approval by an authorised
 * person, and no proposal executes twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../config/load.js';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';

type Who = 'dana' | 'dele' | 'fay' | 'tom' | 'ada' | 'agent';
type Command =
  | { kind: 'propose'; action: 'read' | 'route' | 'status' | 'delete' | 'create'; id: number }
  | { kind: 'approve' | 'reject'; who: Who; pick: number }
  | { kind: 'execute'; pick: number }
  | { kind: 'wait'; minutes: number };

const who = fc.constantFrom<Who>('dana', 'dele', 'fay', 'tom', 'ada', 'agent');
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('propose' as const), action: fc.constantFrom('read', 'route', 'status', 'delete', 'create' as const), id: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ kind: fc.constantFrom('approve' as const, 'reject' as const), who, pick: fc.nat() }),
  fc.record({ kind: fc.constant('execute' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('wait' as const), minutes: fc.integer({ min: 1, max: 90 }) }),
);
const modes = fc.record({
  read: fc.constantFrom('auto', 'approval'),
  write: fc.constantFrom('auto', 'approval'),
  high: fc.constantFrom('auto', 'approval', undefined),
});

function paramsFor(c: Extract<Command, { kind: 'propose' }>, now: number) {
  switch (c.action) {
    case 'read': return { action: 'crm.leads.read', params: { ids: [c.id] } };
    case 'route': return { action: 'crm.leads.update', params: { ids: [c.id], set: { owner_id: 'rep-x' } } };
    case 'status': return { action: 'crm.leads.update', params: { ids: [c.id], set: { status: 'won' } } };
    case 'delete': return { action: 'crm.leads.delete', params: { ids: [c.id] } };
    case 'create': return { action: 'crm.leads.create', params: { values: { name: 'n', email: 'e', region: 'na', created_at: new Date(now).toISOString() } } };
  }
}

async function play(harness: Harness, commands: readonly Command[]): Promise<void> {
  const ids: string[] = [];
  for (const c of commands) {
    if (c.kind === 'propose') {
      const res = await proposeAs(harness, 'agent', { workflow: 'route-leads', ...paramsFor(c, harness.clock.now()) });
      const id = (res.json() as { id?: string }).id;
      if (id !== undefined) ids.push(id);
    } else if (c.kind === 'approve' || c.kind === 'reject') {
      const id = ids[c.pick % Math.max(ids.length, 1)];
      if (id !== undefined) await harness.request(c.who, { method: 'POST', url: `/v1/approvals/${id}/${c.kind}`, payload: { reason: 'r' } });
    } else if (c.kind === 'execute') {
      const id = ids[c.pick % Math.max(ids.length, 1)];
      if (id !== undefined) await harness.gateway.service.executeApproved(id).catch(() => undefined);
    } else if (c.kind === 'wait') {
      harness.clock.advance(c.minutes * 60_000);
      await harness.gateway.service.expireDue();
    }
  }
}

describe('property: high-risk actions never execute without an authorised approval', () => {
  it('holds for any accepted config and any sequence of calls', async () => {
    await fc.assert(fc.asyncProperty(modes, fc.boolean(), fc.array(command, { minLength: 1, maxLength: 25 }), async (mode, allowOwner, commands) => {
      const modeYaml = `mode: { read: ${mode.read}, write: ${mode.write}${mode.high === undefined ? '' : `, high: ${mode.high}`} }`;
      const yaml = harnessConfig({ mode: modeYaml, allowOwnerApproval: allowOwner });
      if (mode.high === 'auto') {
        // A config that tries to automate high risk is rejected at load.
        const parsed = parseConfigText(yaml, { kinds: SYSTEM_KINDS, source: 'p.yaml', baseDir: '/tmp', env: new Proxy({}, { get: () => 'k' }) });
        expect(parsed.ok).toBe(false);
        return;
      }
      const harness = await openHarness({ configYaml: yaml });
      try {
        await play(harness, commands);
        const trail = await auditTrail(harness);
        const approvers = harness.gateway.config.workflows.get('route-leads')?.approvers.approvers ?? new Set();
        const started = new Map<string, number>();
        for (const event of trail.filter((e) => e.type === 'execution.started')) {
          const id = event.proposalId ?? '';
          started.set(id, (started.get(id) ?? 0) + 1);
          const proposal = await harness.gateway.store.getProposal(id);
          if (proposal?.decision.risk !== 'high') continue;
          const approval = trail.find((e) => e.type === 'approval.granted' && e.proposalId === id && e.seq < event.seq);
          expect(approval, `high-risk ${id} executed without approval`).toBeDefined();
          expect(approval?.actor.kind).toBe('person');
          expect(approvers.has(approval?.actor.id ?? '')).toBe(true);
        }
        for (const [id, count] of started) expect(count, `${id} executed ${count} times`).toBe(1);
      } finally {
        await harness.close();
      }
    }), { numRuns: 40 });
  }, 120_000);
});
