/**
 * The MCP gateway over Streamable HTTP, in front of the reference memory and everything
 * servers from npm, driven by the official SDK client as the agent.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProposalView } from '../http/schemas.js';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { httpAgent, mcpConfig, proposalIdOf, resultText } from '../testing/mcp-servers.js';

let harness: Harness;
let baseUrl: string;
let bot: Client;
let autoBot: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const memFile = (): string => join(memDir, 'memory.jsonl');

/** Approves, as Dana (the department's lead), the first pending proposal of `action`, once it shows up. */
async function approveWhenPending(action: string): Promise<string> {
  for (let i = 0; i < 200; i += 1) {
    const res = await harness.request('dana', { method: 'GET', url: '/v1/approvals?status=pending_approval' });
    const pending = (res.json() as { proposals: ProposalView[] }).proposals.find((p) => p.action === action);
    if (pending !== undefined) {
      const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${pending.id}/approve`, payload: { reason: 'looks right' } });
      expect(approved.statusCode).toBe(200);
      return pending.id;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no pending proposal of ${action} appeared`);
}

const executions = async (proposalId: string): Promise<number> => (await auditTrail(harness)).filter((e) => e.proposalId === proposalId && e.type === 'execution.started').length;

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s' }), env: { MEM_FILE: memFile() } });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
  bot = await httpAgent(baseUrl, harness.secrets.agent);
  autoBot = await httpAgent(baseUrl, harness.secrets.other);
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await autoBot?.close();
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe('MCP gateway over Streamable HTTP (memory and everything servers)', () => {
  it('lists only the tools the agent\'s workflows grant, with the upstream\'s schemas and a note on approval', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_entities', 'delete_entities', 'echo', 'get-env', 'read_graph']);
    const create = tools.find((t) => t.name === 'create_entities');
    expect(create?.inputSchema.properties).toHaveProperty('entities');
    expect(create?.description).toContain('[Portcullis: write risk, may need a person\'s approval.]');
    expect(tools.find((t) => t.name === 'delete_entities')?.description).toContain('high risk, always needs a person\'s approval');
  });

  it('runs a read tool at once', async () => {
    const result = await bot.callTool({ name: 'echo', arguments: { message: 'hello through the gate' } });
    expect(result.isError).not.toBe(true);
    expect(resultText(result)).toContain('hello through the gate');
    const read = await bot.callTool({ name: 'read_graph', arguments: {} });
    expect(read.isError).not.toBe(true);
  });

  it('holds a write tool until a department lead approves it, then runs it once and returns its result', async () => {
    const progress: string[] = [];
    const call = bot.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: ['writes proofs'] }] } }, undefined, {
      onprogress: (p) => { progress.push(p.message ?? ''); },
    });
    const approvedId = await approveWhenPending('memory.create_entities');
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(proposalIdOf(result)).toBe(approvedId);
    expect(resultText(result)).toContain('Ada');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toContain(approvedId);
    expect(readFileSync(memFile(), 'utf8')).toContain('"Ada"');
    expect(await executions(approvedId)).toBe(1);
  });

  it('needs approval for a destructive tool even in a workflow whose writes run without approval', async () => {
    const write = await autoBot.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Temp', entityType: 'note', observations: [] }] } });
    expect(write.isError).not.toBe(true);
    expect(resultText(write)).toContain('Temp');
    const call = autoBot.callTool({ name: 'delete_entities', arguments: { entityNames: ['Temp'] } });
    const id = await approveWhenPending('memory.delete_entities');
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(proposalIdOf(result)).toBe(id);
    const decided = (await auditTrail(harness)).find((e) => e.proposalId === id && e.type === 'proposal.decided');
    expect(decided?.data.outcome).toBe('needs_approval');
    expect(String(decided?.data.reasons)).toContain('high-risk actions always need a person\'s approval');
  });

  it('neither lists nor runs a tool outside the grant, and audits the attempt', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).not.toContain('search_nodes');
    const result = await bot.callTool({ name: 'search_nodes', arguments: { query: 'Ada' } });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/denied this call \(GRANT_DENIED\)/);
    const id = proposalIdOf(result);
    const trail = (await auditTrail(harness)).filter((e) => e.proposalId === id);
    expect(trail.map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided']);
    expect(trail[1]?.data.outcome).toBe('deny');
  });

  it('refuses arguments that do not match the tool\'s input schema before anything is proposed', async () => {
    const result = await bot.callTool({ name: 'create_entities', arguments: { entities: 'not a list' } });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/INVALID_PARAMS: .*params\.entities/);
  });

  it('answers an unknown tool with a protocol error, audited', async () => {
    await expect(bot.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/unknown action "no_such_tool"/);
    const last = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').at(-1);
    expect(last?.data.code).toBe('ACTION_NOT_FOUND');
  });

  it('never passes the agent\'s key upstream', async () => {
    const result = await bot.callTool({ name: 'get-env', arguments: {} });
    expect(result.isError).not.toBe(true);
    const env = resultText(result);
    expect(env).toContain('PATH');
    expect(env).not.toContain(harness.secrets.agent);
    expect(env).not.toContain('K_AGENT');
    expect(env).not.toContain('PORTCULLIS');
  });

  it('accepts only agents\' keys at /mcp', async () => {
    const post = (authorization?: string) => harness.gateway.app.inject({
      method: 'POST', url: '/mcp', payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      headers: { accept: 'application/json, text/event-stream', ...(authorization === undefined ? {} : { authorization }) },
    });
    expect((await post()).statusCode).toBe(401);
    expect((await post('Bearer nope')).statusCode).toBe(401);
    expect((await post(`Bearer ${harness.secrets.dana}`)).statusCode).toBe(403);
    expect(existsSync(memFile())).toBe(true);
  });
});
