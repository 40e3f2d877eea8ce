/**
 * Every granted action is a tool, whatever its system's kind, driven by the official SDK client
 * over both transports: a SQL read runs at once; a SQL field-level update offers only its
 * granted fields and is held, approved, run once, with its before-image recorded; names match
 * the pattern every client accepts; names that would clash refuse start, naming both, and an
 * alias resolves the clash.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_NAME_PATTERN } from '../config/schema.js';
import { agentTools } from '../service/agent-tools.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { auditTrail, harnessConfig, openHarness, readLead, type Harness } from '../testing/harness.js';
import { TRANSPORTS, connectAgent, heldCall, resultText } from '../testing/mcp-servers.js';

let harness: Harness;
let baseUrl: string;

beforeAll(async () => {
  // The stdio gateway runs in its own process on the real clock: the CRM's leads are timed from it too.
  harness = await openHarness({ clock: createFakeClock(Date.now()) });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);
afterAll(async () => harness?.close());

describe.each(TRANSPORTS)('SQL actions as MCP tools over %s', (transport) => {
  let router: Client;
  beforeAll(async () => {
    router = await connectAgent(transport, { harness, baseUrl, agent: 'lead-router', key: harness.secrets.agent });
  }, 60_000);
  afterAll(async () => router?.close());

  it('offers the granted SQL actions, the update with only its granted fields, annotated by risk', async () => {
    const { tools } = await router.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['crm__leads__delete', 'crm__leads__read', 'crm__leads__update']);
    for (const tool of tools) expect(tool.name).toMatch(TOOL_NAME_PATTERN);
    const update = tools.find((t) => t.name === 'crm__leads__update');
    const set = (update?.inputSchema.properties as Record<string, { properties?: Record<string, unknown> }>).set;
    expect(Object.keys(set?.properties ?? {})).toEqual(['owner_id']);
    expect(update?.annotations).toEqual({ readOnlyHint: false, destructiveHint: false, openWorldHint: false });
    expect(update?.description).toMatch(/\[Portcullis: write risk: .*; waits for a person's approval\. It can be undone\.\]$/);
    expect(tools.find((t) => t.name === 'crm__leads__read')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools.find((t) => t.name === 'crm__leads__delete')?.annotations).toMatchObject({ destructiveHint: true });
  });

  it('runs a SQL read at once', async () => {
    const result = await router.callTool({ name: 'crm__leads__read', arguments: { ids: [1], columns: ['id', 'name'] } });
    expect(result.isError).not.toBe(true);
    expect(resultText(result)).toContain('Ines Moreau');
  });

  it('holds a SQL field-level update until a lead approves it, runs it once and records the before-image', async () => {
    const owner = transport === 'http' ? 'rep-amara' : 'rep-kenji';
    const call = heldCall(router, 'crm__leads__update', { ids: [2], set: { owner_id: owner } });
    const id = await call.proposal;
    expect(readLead(harness, 2)?.owner_id).not.toBe(owner);
    expect((await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'right region' } })).statusCode).toBe(200);
    const result = await call.result;
    expect(result.isError).not.toBe(true);
    expect(readLead(harness, 2)?.owner_id).toBe(owner);
    const proposal = await harness.gateway.store.getProposal(id);
    expect(proposal).toMatchObject({ status: 'succeeded' });
    expect(JSON.stringify(proposal?.undo)).toContain('owner_id');
    expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);
  });

  it('refuses a field outside the grant as the schema does, without proposing it', async () => {
    const result = await router.callTool({ name: 'crm__leads__update', arguments: { ids: [3], set: { status: 'won' } } });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/FIELDS_OUTSIDE_GRANT|outside the grants/);
  });
});

describe('tool names', () => {
  /** Two actions whose names map to one tool name: crm.leads__orders.read and crm__leads.orders.read are both crm__leads__orders__read. */
  const clashing = (aliases: string): string => harnessConfig({
    extraSystemsYaml: `
  crm__leads:
    kind: sql
    driver: sqlite
    path: ./crm.db
    tables:
      orders: { primaryKey: id, columns: [id, name, created_at] }`,
    extraWorkflowYaml: `
  clash:
    description: Read two things that map to one tool name
    agent: lead-router
    department: sales
    owner: tom
    runbook: Read by hand.
    grants: [crm__leads:orders:read, crm:leads__orders:read]`,
  }).replace('leads: { primaryKey: id,', 'leads__orders: { primaryKey: id, columns: [id, name] }\n      leads: { primaryKey: id,').replace('version: 1', `version: 1\nmcp: { aliases: ${aliases} }`);

  it('refuses to start when two tools would share a name, naming both actions and the fix', async () => {
    await expect(openHarness({ configYaml: clashing('{}') })).rejects.toThrow(/agent "lead-router" would be offered two tools named "crm__leads__orders__read": crm\.leads__orders\.read and crm__leads\.orders\.read; rename one in mcp\.aliases/);
  });

  it('starts once an alias renames one of them, and offers both', async () => {
    const aliased = await openHarness({ configYaml: clashing('{ "crm__leads.orders.read": orders_read }') });
    try {
      const names = agentTools(aliased.gateway.config, aliased.gateway.config.agents.get('lead-router') as never).granted.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['crm__leads__orders__read', 'orders_read']));
    } finally {
      await aliased.close();
    }
  });
});
