/**
 * Rolling back MCP tool calls, against the reference memory server from npm: a tool whose
 * compensating tool the config declares (create_entities → delete_entities, its argument
 * derived from the original call) says so before approval and is undone by calling it with the
 * gateway's connection; a tool without one is refused as irreversible, naming the manual fallback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { mcpConfig } from '../../testing/mcp-servers.js';

const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
afterAll(() => rmSync(memDir, { recursive: true, force: true }));
let harness: Harness;
afterEach(async () => harness?.close());

const entities = { entities: [{ name: 'Grace', entityType: 'person', observations: ['found a moth'] }, { name: 'Ada', entityType: 'person', observations: ['wrote a program'] }] };

async function graphNames(): Promise<string[]> {
  const read = await proposeAs(harness, 'agent', { workflow: 'notes', action: 'memory.read_graph', params: {} });
  expect(read.json().status, read.payload).toBe('succeeded');
  const text = (read.json().result as { content: { text: string }[] }).content[0]?.text ?? '{}';
  return ((JSON.parse(text) as { entities?: { name: string }[] }).entities ?? []).map((e) => e.name).sort();
}

async function executed(action: string, params: unknown): Promise<string> {
  const proposed = await proposeAs(harness, 'agent', { workflow: 'notes', action, params, reason: 'note it' });
  const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
  expect(approved.json(), approved.payload).toMatchObject({ status: 'succeeded' });
  return proposed.json().id as string;
}

describe('rolling back MCP tool calls', () => {
  it('calls the declared compensating tool with arguments derived from the original call', async () => {
    harness = await openHarness({
      configYaml: mcpConfig({ actions: { 'memory.create_entities': '{ undo: { tool: delete_entities, args: { entityNames: "params.entities.*.name" } } }' } }),
      env: { MEM_FILE: join(memDir, 'compensate.jsonl') },
    });
    const proposed = await proposeAs(harness, 'agent', { workflow: 'notes', action: 'memory.create_entities', params: entities, reason: 'note them' });
    expect(proposed.json()).toMatchObject({ status: 'pending_approval', reversible: true, undo: 'calls the compensating tool "delete_entities" of the same system with entityNames from params.entities.*.name' });
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${proposed.json().id}/approve`, payload: { reason: 'ok' } });
    expect(await graphNames()).toEqual(['Ada', 'Grace']);
    expect((await harness.gateway.store.getProposal(proposed.json().id))?.undo).toEqual({ kind: 'mcp.compensate', tool: 'delete_entities', args: { entityNames: ['Grace', 'Ada'] } });

    const res = await harness.request('dana', { method: 'POST', url: `/v1/proposals/${proposed.json().id}/rollback`, payload: { reason: 'noted by mistake' } });
    expect(res.json()).toEqual({ outcome: 'rolled_back', notAttempted: [], steps: [{ proposalId: proposed.json().id, action: 'memory.create_entities', outcome: 'rolled_back', undone: ['delete_entities {"entityNames":["Grace","Ada"]}'], drifted: [] }] });
    expect(await graphNames()).toEqual([]);
    expect((await auditTrail(harness)).filter((e) => e.type === 'rollback.succeeded')).toMatchObject([{ proposalId: proposed.json().id, actor: { id: 'dana' } }]);

    // Undo data that names no compensating call is refused by the connector; no tool is called.
    const spec = harness.gateway.service.config.actions.get('memory.create_entities')?.spec;
    const connector = harness.gateway.connectors.get('memory');
    if (spec === undefined || connector?.rollback === undefined) throw new Error('no memory.create_entities');
    await expect(connector.rollback(spec, entities, { kind: 'sql.update' }, null, { proposalId: 'prop_x', workflow: 'notes', now: 0, maxRecords: 1 }))
      .rejects.toMatchObject({ code: 'NOT_REVERSIBLE', message: expect.stringMatching(/recorded no compensating call/) });
  });

  it('refuses when an argument of the compensating tool cannot be derived, and fails when the tool is not offered', async () => {
    harness = await openHarness({
      configYaml: mcpConfig({
        extraGrants: ['memory:add_observations:update'],
        actions: {
          'memory.create_entities': '{ undo: { tool: delete_entities, args: { entityNames: "result.structuredContent.nope" } } }',
          'memory.add_observations': '{ undo: { tool: forget_observations, args: { observations: "params.observations" } } }',
        },
      }),
      env: { MEM_FILE: join(memDir, 'broken.jsonl') },
    });
    const created = await executed('memory.create_entities', entities);
    const refused = await harness.request('dana', { method: 'POST', url: `/v1/proposals/${created}/rollback`, payload: { reason: 'mistake' } });
    expect(refused.statusCode, refused.payload).toBe(409);
    expect(refused.json().error).toMatchObject({ code: 'NOT_REVERSIBLE', message: `proposal ${created} (memory.create_entities) cannot be rolled back: argument "entityNames" of the compensating tool "delete_entities" comes from result.structuredContent.nope, which the call did not have. Manual fallback (workflow "notes"): Edit the knowledge graph by hand.; nothing was changed` });
    expect((await auditTrail(harness)).filter((e) => e.proposalId === created && e.type.startsWith('rollback.')).map((e) => e.type)).toEqual(['rollback.started', 'rollback.failed']);
    expect(await graphNames()).toEqual(['Ada', 'Grace']);

    const observed = await executed('memory.add_observations', { observations: [{ entityName: 'Ada', contents: ['liked poetry'] }] });
    const failed = await harness.request('dana', { method: 'POST', url: `/v1/proposals/${observed}/rollback`, payload: { reason: 'mistake' } });
    expect(failed.json()).toMatchObject({ outcome: 'none', steps: [{ outcome: 'failed', error: { code: 'UPSTREAM_FAILED', message: 'the compensating tool "forget_observations" is not offered by MCP system "memory" now; it was not called' } }] });
    expect((await harness.gateway.store.getProposal(observed))?.status).toBe('succeeded');
  });

  it('refuses a tool call without a compensating tool as irreversible, naming the manual fallback', async () => {
    harness = await openHarness({ configYaml: mcpConfig(), env: { MEM_FILE: join(memDir, 'plain.jsonl') } });
    const id = await executed('memory.create_entities', entities);
    const res = await harness.request('dana', { method: 'POST', url: `/v1/proposals/${id}/rollback`, payload: { reason: 'noted by mistake' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'NOT_REVERSIBLE', message: expect.stringMatching(/it is irreversible \(cannot be undone: the gateway cannot undo what an MCP tool did\)\. Manual fallback \(workflow "notes"\): Edit the knowledge graph by hand\.; nothing was changed$/) });
    expect(await graphNames()).toEqual(['Ada', 'Grace']);
  });
});
