/**
 * The risk floor of MCP tools: `actions:` in the config may raise a tool's class above what its
 * annotations give it, never lower it. An override that would lower a destructive tool keeps
 * that tool out (reported at start, audited, and said when it is called), so it never runs
 * without a person's approval, even in a workflow whose writes run without approval; an
 * override that raises a read tool to write makes its calls wait for approval. Against the
 * reference memory and everything servers, over Streamable HTTP.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { httpAgent, mcpConfig, proposalIdOf, resultText } from '../testing/mcp-servers.js';

let harness: Harness;
let bot: Client;
let autoBot: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const memFile = join(memDir, 'memory.jsonl');
const LOWERED = /actions\["memory\.delete_entities"\]\.risk: risk "write" is below "high", the lowest class allowed because it is tagged delete; risk can be raised, never lowered/;

beforeAll(async () => {
  harness = await openHarness({
    configYaml: mcpConfig({ holdTime: '1s', actions: { 'memory.delete_entities': '{ risk: write }', 'everything.echo': '{ risk: write }' } }),
    env: { MEM_FILE: memFile },
  });
  const baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
  bot = await httpAgent(baseUrl, harness.secrets.agent);
  autoBot = await httpAgent(baseUrl, harness.secrets.other);
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await autoBot?.close();
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe('risk overrides of MCP tools', () => {
  it('never lets an override lower a destructive tool: it is kept out, reported, and refused saying why, even where writes run without approval', async () => {
    const warning = harness.gateway.warnings.find((w) => LOWERED.test(w));
    expect(warning).toMatch(/^MCP system "memory": tool "delete_entities": .*; the tool is not offered until the override is fixed$/);
    const listed = (await auditTrail(harness)).find((e) => e.type === 'mcp.tools_listed' && e.data.system === 'memory');
    expect(JSON.stringify(listed?.data.rejected)).toMatch(/delete_entities.*risk can be raised, never lowered/);
    expect(JSON.stringify(listed?.data.tools)).not.toContain('"delete_entities"');

    const { tools } = await autoBot.listTools();
    expect(tools.map((t) => t.name)).toContain('create_entities');
    expect(tools.map((t) => t.name)).not.toContain('delete_entities');
    const created = await autoBot.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Keeper', entityType: 'note', observations: [] }] } });
    expect(resultText(created)).toContain('Keeper');

    await expect(autoBot.callTool({ name: 'delete_entities', arguments: { entityNames: ['Keeper'] } })).rejects.toThrow(LOWERED);
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').at(-1);
    expect(refused?.actor).toMatchObject({ kind: 'agent', id: 'auto-bot' });
    expect(refused?.data).toMatchObject({ code: 'ACTION_NOT_FOUND', action: 'delete_entities' });
    expect(String(refused?.data.message)).toMatch(LOWERED);

    // Nor through the HTTP API.
    const api = await proposeAs(harness, 'other', { workflow: 'tidy', action: 'memory.delete_entities', params: { entityNames: ['Keeper'] } });
    expect(api.statusCode).toBeGreaterThanOrEqual(400);
    expect(api.statusCode).toBeLessThan(500);
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.type === 'proposal.received' && e.data.action === 'memory.delete_entities')).toEqual([]);
    expect(readFileSync(memFile, 'utf8')).toContain('"Keeper"');
  });

  it('makes a read tool raised to write wait for a person\'s approval, then run once', async () => {
    const echo = (await bot.listTools()).tools.find((t) => t.name === 'echo');
    expect(echo?.description).toMatch(/\[Portcullis: write risk: raised by configuration .*; waits for a person's approval\.\]$/);
    const args = { message: 'raised by the config' };
    const first = await bot.callTool({ name: 'echo', arguments: args });
    expect(resultText(first)).toMatch(/^PENDING - not done yet/);
    expect(first.structuredContent).toMatchObject({ portcullis: { status: 'pending_approval' } });
    const id = proposalIdOf(first) as string;
    const trail = (await auditTrail(harness)).filter((e) => e.proposalId === id);
    expect(trail.find((e) => e.type === 'proposal.received')?.data).toMatchObject({ action: 'everything.echo', risk: 'write' });
    expect(String(trail.find((e) => e.type === 'proposal.received')?.data.riskWhy)).toContain('raised by configuration');
    expect(trail.find((e) => e.type === 'proposal.decided')?.data.outcome).toBe('needs_approval');
    expect(trail.filter((e) => e.type === 'execution.started')).toEqual([]);

    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'fine to echo' } });
    expect(approved.statusCode).toBe(200);
    const outcome = await bot.callTool({ name: 'echo', arguments: args });
    expect(proposalIdOf(outcome)).toBe(id);
    expect(resultText(outcome)).toBe('Echo: raised by the config');
    expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);
  });
});
