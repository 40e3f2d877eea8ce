/**
 * Nothing lost across a stop: when a gateway starts on a store a stopped gateway left behind,
 * it flags every proposal left executing as `outcome_unknown` (a person checks the system),
 * and runs every approved proposal whose execution never started, once. The stop is a
 * gateway whose upstream call hangs (the fault fixture's `hang` tool) and that is never shut
 * down before the next gateway opens the same store and CRM, as after a crash.
 */
import { describe, expect, it, vi } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, readLead, type Harness } from '../testing/harness.js';
import { FAULTY_SERVER, yamlList } from '../testing/mcp-servers.js';

/** The harness config, plus an MCP tool that never answers for the other agent; store and CRM at `files` when given. */
function config(files?: { store: string; crm: string }): string {
  const text = harnessConfig({
    extraSystemsYaml: `
  faulty:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    timeout: 60s`,
    extraWorkflowYaml: `
  stuck:
    description: Call a tool that never answers
    agent: other-agent
    department: finance
    owner: tom
    runbook: Do it by hand.
    breaker: { failures: 1 }
    grants: [faulty:hang:read]`,
  });
  if (files === undefined) return text;
  return text.replace('path: ./portcullis.db', `path: ${JSON.stringify(files.store)}`).replace('path: ./crm.db', `path: ${JSON.stringify(files.crm)}`);
}

/** Resolves with the id of the next proposal the gateway announces as executing (its move is durable by then). */
function nextExecuting(harness: Harness): Promise<string> {
  const feed = harness.gateway.service.deps.changes;
  const publish = feed.publish.bind(feed);
  return new Promise((resolve) => {
    vi.spyOn(feed, 'publish').mockImplementation((change) => {
      publish(change);
      if (change.kind === 'proposal' && change.status === 'executing') resolve(change.id);
    });
  });
}

describe('recovery when the gateway starts', () => {
  it('flags the execution a stop interrupted and runs the approved proposal it never started', async () => {
    const first = await openHarness({ configYaml: config() });
    let second: Harness | undefined;
    let hung: ReturnType<typeof proposeAs> | undefined;
    try {
      const approvedId = (await proposeAs(first, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })).json().id as string;
      const dana = first.gateway.config.people.get('dana');
      if (dana === undefined) throw new Error('dana missing');
      await first.gateway.service.recordApproval(dana, approvedId, { reason: 'emea lead, emea rep' });
      expect(readLead(first, 1)?.owner_id).toBeNull();

      const executing = nextExecuting(first);
      hung = proposeAs(first, 'other', { workflow: 'stuck', action: 'faulty.hang', params: {} });
      const interrupted = await first.gateway.store.getProposal(await executing);
      if (interrupted === undefined) throw new Error('no executing proposal');
      expect(interrupted.status).toBe('executing');

      // The next gateway starts on the same store and CRM while the first never finished.
      second = await openHarness({ configYaml: config({ store: first.storePath, crm: first.crmPath }), clock: first.clock });
      const store = second.gateway.store;

      expect(await store.getProposal(interrupted.id)).toMatchObject({ status: 'outcome_unknown', error: { code: 'OUTCOME_UNKNOWN' } });
      expect(await store.getProposal(approvedId)).toMatchObject({ status: 'succeeded', approval: { by: 'dana' } });
      expect(readLead(first, 1)?.owner_id).toBe('rep-amara');

      const trail = await auditTrail(second);
      const starts = trail.filter((e) => e.type === 'gateway.started');
      expect(starts).toHaveLength(2);
      const afterStart = trail.filter((e) => e.seq > (starts[1]?.seq ?? Infinity));
      expect(afterStart.filter((e) => e.proposalId === interrupted.id).map((e) => e.type)).toEqual(['execution.outcome_unknown']);
      expect(afterStart.filter((e) => e.proposalId === approvedId).map((e) => e.type)).toEqual(['execution.started', 'execution.succeeded']);
      expect(trail.filter((e) => e.type === 'execution.started' && e.proposalId === approvedId)).toHaveLength(1);
      // The lost outcome counts for the circuit breaker (one failure trips this workflow's).
      expect(await store.getDisabled('workflow', 'stuck')).toMatchObject({ by: 'breaker' });
      expect(await store.getDisabled('workflow', 'route-leads')).toBeUndefined();
    } finally {
      await second?.close();
      await first.close();
      // The first gateway's call ends when its upstream is stopped; its outcome can no longer be recorded.
      if (hung !== undefined) expect((await hung).json().status).not.toBe('succeeded');
    }
  });
});
