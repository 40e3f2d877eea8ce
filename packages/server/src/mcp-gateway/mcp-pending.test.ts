/**
 * A call that outlives the hold time: it answers "pending" with where to approve it, a retry
 * with the same arguments attaches to the same proposal, and once decided the retry returns
 * the outcome, having run once. Against the reference memory server, over Streamable HTTP and
 * over stdio (the built `portcullis mcp --agent` command on the same config and store).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, type Harness } from '../testing/harness.js';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { TRANSPORTS, proposalIdOf, resultText, openMemoryAgent } from '../testing/mcp-servers.js';

const entity = { entities: [{ name: 'Grace', entityType: 'person', observations: ['found a moth'] }] };

// One gateway (and store) per transport, so each sees only its own calls.
describe.each(TRANSPORTS)('over %s', (transport) => {
  let opened: Awaited<ReturnType<typeof openMemoryAgent>> | undefined;
  let harness: Harness;
  let bot: Client;

  beforeAll(async () => {
    opened = await openMemoryAgent(transport, { holdTime: '1s' });
    ({ harness, bot } = opened);
  }, 60_000);

  afterAll(async () => opened?.close());

  describe('a call still waiting after the hold time', () => {
    it('answers pending with the approval id and where to approve, attaches retries, and returns the outcome once decided', async () => {
      const first = await bot.callTool({ name: 'create_entities', arguments: entity });
      expect(first.isError).not.toBe(true);
      const id = proposalIdOf(first) as string;
      expect(id).toMatch(/^prop/);
      const text = resultText(first);
      expect(text).toMatch(/^PENDING - not done yet/);
      expect(text).toContain(`Approval id: ${id}`);
      expect(text).toContain(`portcullis approvals approve ${id}`);
      expect(text).toContain(`/v1/approvals/${id}/approve`);
      expect(text).toContain('department "ops" (Dana)');
      expect(first.structuredContent).toMatchObject({ portcullis: { status: 'pending_approval', approvalId: id } });

      const retried = await bot.callTool({ name: 'create_entities', arguments: entity });
      expect(proposalIdOf(retried)).toBe(id);
      expect(resultText(retried)).toMatch(/^PENDING/);

      const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'fine' } });
      expect(approved.statusCode).toBe(200);

      const outcome = await bot.callTool({ name: 'create_entities', arguments: entity });
      expect(outcome.isError).not.toBe(true);
      expect(proposalIdOf(outcome)).toBe(id);
      expect(resultText(outcome)).toContain('Grace');
      const trail = await auditTrail(harness);
      expect(trail.filter((e) => e.type === 'proposal.received' && e.data.action === 'memory.create_entities')).toHaveLength(1);
      expect(trail.filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);

      // Its outcome was delivered: the same call made again is a new proposal, not a replay.
      const again = await bot.callTool({ name: 'create_entities', arguments: entity });
      expect(proposalIdOf(again)).not.toBe(id);
      expect(resultText(again)).toMatch(/^PENDING/);
    });

    it('tells the agent when a person rejected the call, and does not run it', async () => {
      const args = { entities: [{ name: 'Mallory', entityType: 'person', observations: [] }] };
      const first = await bot.callTool({ name: 'create_entities', arguments: args });
      const id = proposalIdOf(first) as string;
      const rejected = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/reject`, payload: { reason: 'not a real person' } });
      expect(rejected.statusCode).toBe(200);
      const outcome = await bot.callTool({ name: 'create_entities', arguments: args });
      expect(outcome.isError).toBe(true);
      expect(resultText(outcome)).toContain('dana rejected it: not a real person');
      expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(0);
    });
    it('tells the agent when the gateway cancelled the call because its workflow was disabled while it waited', async () => {
      const args = { entities: [{ name: 'Trent', entityType: 'person', observations: [] }] };
      const id = proposalIdOf(await bot.callTool({ name: 'create_entities', arguments: args })) as string;
      const workflow = (await harness.gateway.store.getProposal(id))?.workflow as string;
      await harness.gateway.store.setDisabled('workflow', workflow, { by: 'dana', reason: 'stop it', at: harness.clock.now() }, []);
      try {
        const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'fine' } });
        expect(approved.json()).toMatchObject({ status: 'cancelled', error: { code: 'WORKFLOW_DISABLED' } });
        const outcome = await bot.callTool({ name: 'create_entities', arguments: args });
        expect(outcome.isError).toBe(true);
        expect(proposalIdOf(outcome)).toBe(id);
        expect(resultText(outcome)).toMatch(/did not run: the gateway cancelled it before it ran \(WORKFLOW_DISABLED: .*is disabled/);
        expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(0);
      } finally {
        await harness.gateway.store.setDisabled('workflow', workflow, undefined, []);
      }
    });
  });

  describe('a call run at once', () => {
    it('is a new proposal each time it is made again, its generation advanced in its outcome\'s commit', async () => {
      const store = harness.gateway.store as Partial<SqliteStore>;
      const before = store.stats?.();
      const first = await bot.callTool({ name: 'read_graph', arguments: {} });
      const after = store.stats?.();
      const second = await bot.callTool({ name: 'read_graph', arguments: {} });
      expect([first.isError, second.isError]).not.toContain(true);
      const ids = [proposalIdOf(first), proposalIdOf(second)];
      expect(ids[0]).not.toBe(ids[1]);
      const trail = await auditTrail(harness);
      for (const id of ids) expect(trail.filter((e) => e.proposalId === id && e.type === 'execution.succeeded')).toHaveLength(1);
      if (transport === 'http') {
        // Over HTTP the gateway's store is this process's: the proposal (with its execution.started) and the outcome, nothing more.
        expect((after?.committed ?? 0) - (before?.committed ?? 0)).toBe(2);
      }
    });
  });

  it('answers pending at once, holding nothing, a call sent with _meta["portcullis/wait"]: false', async () => {
    const progress: string[] = [];
    const onprogress = (p: { message?: string }): void => { progress.push(p.message ?? ''); };
    const args = { entities: [{ name: 'Wait-less', entityType: 'person', observations: [] }] };
    const answered = await bot.callTool({ name: 'create_entities', arguments: args, _meta: { 'portcullis/wait': false } }, undefined, { onprogress });
    expect(resultText(answered)).toMatch(/^PENDING - not done yet/);
    expect(progress).toEqual([]);
    // Without it, the same call is held: the gateway says so at once in a progress notification.
    const held = await bot.callTool({ name: 'create_entities', arguments: args }, undefined, { onprogress });
    expect(proposalIdOf(held)).toBe(proposalIdOf(answered));
    expect(progress[0]).toContain(`proposal ${proposalIdOf(answered)} is pending approval`);
  });
});
