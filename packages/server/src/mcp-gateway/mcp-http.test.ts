/**
 * The MCP gateway in front of the reference memory and everything servers from npm, driven by
 * the official SDK client as the agent, over both ways in: Streamable HTTP at /mcp, and stdio,
 * where the client launches the `portcullis mcp --agent` command (from its sources) on the
 * same config and store, and a lead approves on the HTTP API.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CallToolResultSchema, ElicitRequestSchema, type CallToolRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { TRANSPORTS, connectAgent, heldCall, mcpConfig, proposalIdOf, resultText, type AgentClientOptions, type HeldCall } from '../testing/mcp-servers.js';

let harness: Harness;
let baseUrl: string;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const memFile = (): string => join(memDir, 'memory.jsonl');

/** Approves, as Dana (the department's lead), the held call's proposal (of `action`, pending approval), once the gateway holds it. */
async function approveWhenHeld(call: HeldCall, action: string): Promise<string> {
  const id = await call.proposal;
  expect(await harness.gateway.store.getProposal(id)).toMatchObject({ action, status: 'pending_approval' });
  const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'looks right' } });
  expect(approved.statusCode).toBe(200);
  return id;
}

const executions = async (proposalId: string): Promise<number> => (await auditTrail(harness)).filter((e) => e.proposalId === proposalId && e.type === 'execution.started').length;

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s' }), env: { MEM_FILE: memFile() } });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe.each(TRANSPORTS)('MCP gateway over %s (memory and everything servers)', (transport) => {
  let bot: Client;
  let autoBot: Client;
  /** Elicitation requests the gateway sent the agent's own client (it must send none). */
  const elicited: unknown[] = [];
  // The agent's client offers elicitation and would accept anything asked: a trap for a gateway that asked it to approve.
  const client: AgentClientOptions = {
    capabilities: { elicitation: { form: {} } },
    prepare: (c) => c.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicited.push(request.params);
      return { action: 'accept', content: { approve: true } };
    }),
  };
  const name = (who: string): string => `${who} (${transport})`;

  beforeAll(async () => {
    const target = { harness, baseUrl, env: { MEM_FILE: memFile() } };
    bot = await connectAgent(transport, { ...target, agent: 'bot', key: harness.secrets.agent }, client);
    autoBot = await connectAgent(transport, { ...target, agent: 'auto-bot', key: harness.secrets.other }, client);
  }, 60_000);

  afterAll(async () => {
    await bot?.close();
    await autoBot?.close();
  });

  it('lists only the tools the agent\'s workflows grant, with the upstream\'s schemas and a note on approval', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_entities', 'delete_entities', 'echo', 'get-env', 'read_graph']);
    const create = tools.find((t) => t.name === 'create_entities');
    expect(create?.inputSchema.properties).toHaveProperty('entities');
    expect(create?.description).toMatch(/\[Portcullis: write risk: .*; waits for a person's approval\. It cannot be undone\.\]$/);
    expect(create?.annotations).toEqual({ readOnlyHint: false, destructiveHint: false, openWorldHint: false });
    const remove = tools.find((t) => t.name === 'delete_entities');
    expect(remove?.description).toMatch(/\[Portcullis: high risk: .*; always needs a person's approval\. It cannot be undone\.\]$/);
    expect(remove?.annotations).toMatchObject({ destructiveHint: true });
    expect(tools.find((t) => t.name === 'read_graph')?.annotations).toMatchObject({ readOnlyHint: true });
  });

  it('runs a read tool at once', async () => {
    const result = await bot.callTool({ name: 'echo', arguments: { message: 'hello through the gate' } });
    expect(result.isError).not.toBe(true);
    expect(resultText(result)).toContain('hello through the gate');
    const read = await bot.callTool({ name: 'read_graph', arguments: {} });
    expect(read.isError).not.toBe(true);
  });

  it('holds a write tool until a department lead approves it, then runs it once and returns its result', async () => {
    const ada = name('Ada');
    const call = heldCall(bot, 'create_entities', { entities: [{ name: ada, entityType: 'person', observations: ['writes proofs'] }] });
    const approvedId = await approveWhenHeld(call, 'memory.create_entities');
    const result = await call.result;
    const { progress } = call;
    expect(result.isError).not.toBe(true);
    expect(proposalIdOf(result)).toBe(approvedId);
    expect(resultText(result)).toContain(ada);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toContain(approvedId);
    expect(readFileSync(memFile(), 'utf8')).toContain(JSON.stringify(ada));
    expect(await executions(approvedId)).toBe(1);
  });

  it('never asks the agent\'s own client to approve: a held write waits for a person, whatever the client would answer', async () => {
    const grace = name('Grace');
    let settled = false;
    const call = heldCall(bot, 'create_entities', { entities: [{ name: grace, entityType: 'person', observations: [] }] });
    void call.result.then(() => { settled = true; }, () => { settled = true; });
    // The gateway holds the call for a person and has said so on the call's own stream: a request
    // to the client to approve it, sent before, would have reached the client before this.
    const id = await call.proposal;
    expect(elicited).toEqual([]);
    expect(settled).toBe(false);
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('pending_approval');
    expect(await executions(id)).toBe(0);
    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'a person decided' } });
    expect(approved.statusCode).toBe(200);
    const result = await call.result;
    expect(proposalIdOf(result)).toBe(id);
    expect(resultText(result)).toContain(grace);
    const approval = (await auditTrail(harness)).find((e) => e.proposalId === id && e.type === 'approval.granted');
    expect(approval?.actor).toMatchObject({ kind: 'person', id: 'dana' });
    expect(elicited).toEqual([]);
  });

  it('needs approval for a destructive tool even in a workflow whose writes run without approval', async () => {
    const temp = name('Temp');
    const write = await autoBot.callTool({ name: 'create_entities', arguments: { entities: [{ name: temp, entityType: 'note', observations: [] }] } });
    expect(write.isError).not.toBe(true);
    expect(resultText(write)).toContain(temp);
    const call = heldCall(autoBot, 'delete_entities', { entityNames: [temp] });
    const id = await approveWhenHeld(call, 'memory.delete_entities');
    const result = await call.result;
    expect(result.isError).not.toBe(true);
    expect(proposalIdOf(result)).toBe(id);
    const decided = (await auditTrail(harness)).find((e) => e.proposalId === id && e.type === 'proposal.decided');
    expect(decided?.data.outcome).toBe('needs_approval');
    expect(String(decided?.data.reasons)).toContain('high-risk actions always need a person\'s approval');
  });

  it('neither lists nor runs a tool outside the grant, answers it as an unknown tool, and audits the attempt', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).not.toContain('search_nodes');
    const ungranted = await bot.callTool({ name: 'search_nodes', arguments: { query: 'Ada' } }).then(() => 'answered', (error: Error) => error.message);
    const unknown = await bot.callTool({ name: 'no_such_tool', arguments: {} }).then(() => 'answered', (error: Error) => error.message);
    // The same answer, but for the name: nothing tells the agent the tool exists, nor names another.
    expect(ungranted.replace('search_nodes', 'X')).toBe(unknown.replace('no_such_tool', 'X'));
    expect(ungranted).toBe('MCP error -32602: unknown tool "search_nodes": call only the tools that tools/list shows');
    expect(await harness.gateway.store.listProposals({ workflows: ['notes'], status: 'denied', limit: 10 })).toEqual([]);
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').map((e) => e.data.action);
    expect(refused).toEqual(expect.arrayContaining(['search_nodes', 'no_such_tool']));
  });

  it('refuses arguments that do not match the tool\'s input schema before anything is proposed', async () => {
    const result = await bot.callTool({ name: 'create_entities', arguments: { entities: 'not a list' } });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/INVALID_PARAMS: .*params\.entities/);
  });

  it('answers malformed tools/call params and an unknown tools/list cursor with Invalid params (-32602), naming what is wrong (not Internal error)', async () => {
    const call = (params: unknown) => bot.request({ method: 'tools/call', params } as CallToolRequest, CallToolResultSchema);
    const before = (await harness.gateway.store.listProposals({ limit: 1000 })).length;
    await expect(call({ name: 'echo', arguments: ['not', 'an', 'object'] })).rejects.toThrow(/^MCP error -32602: (MCP error -32602: )?Invalid tools\/call request: [^]*"arguments"/);
    await expect(call({ arguments: {} })).rejects.toThrow(/^MCP error -32602: (MCP error -32602: )?Invalid tools\/call request: [^]*"name"/);
    await expect(bot.listTools({ cursor: 'bogus' })).rejects.toThrow(/^MCP error -32602: unknown cursor "bogus"/);
    expect((await harness.gateway.store.listProposals({ limit: 1000 })).length).toBe(before);
  });

  it('answers an unknown tool with a protocol error, audited', async () => {
    await expect(bot.callTool({ name: 'no_such_tool', arguments: {} })).rejects.toThrow(/^MCP error -32602: unknown tool "no_such_tool"/);
    const last = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').at(-1);
    expect(last?.data.code).toBe('ACTION_NOT_FOUND');
  });

  // Over stdio the `portcullis mcp` process holds the key in PORTCULLIS_AGENT_KEY (and K_AGENT):
  // the upstream it launches must get neither.
  it('never passes the agent\'s key upstream', async () => {
    const result = await bot.callTool({ name: 'get-env', arguments: {} });
    expect(result.isError).not.toBe(true);
    const env = resultText(result);
    expect(env).toContain('PATH');
    expect(env).not.toContain(harness.secrets.agent);
    expect(env).not.toContain('K_AGENT');
    expect(env).not.toContain('PORTCULLIS');
  });
});

describe('MCP gateway over Streamable HTTP', () => {
  it('accepts only agents\' keys at /mcp, and challenges a request without one with WWW-Authenticate: Bearer', async () => {
    const post = (authorization?: string) => harness.gateway.app.inject({
      method: 'POST', url: '/mcp', payload: { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      headers: { accept: 'application/json, text/event-stream', ...(authorization === undefined ? {} : { authorization }) },
    });
    for (const refused of [await post(), await post('Bearer nope')]) {
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="portcullis"');
    }
    expect((await post(`Bearer ${harness.secrets.dana}`)).statusCode).toBe(403);
    expect(existsSync(memFile())).toBe(true);
  });

  it('refuses a request from a web page of another origin (DNS rebinding), even with the agent\'s key; takes one from its own origin or none', async () => {
    const proposals = async () => (await harness.gateway.store.listProposals({ limit: 100 })).length;
    const call = (origin?: string) => harness.gateway.app.inject({
      method: 'POST', url: '/mcp', payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'from a page' } } },
      headers: { accept: 'application/json, text/event-stream', host: '127.0.0.1:7300', authorization: `Bearer ${harness.secrets.agent}`, ...(origin === undefined ? {} : { origin }) },
    });
    const before = await proposals();
    for (const origin of ['http://attacker.example', 'http://127.0.0.1:7301', 'null', 'https://127.0.0.1.attacker.example:7300']) {
      const answer = await call(origin);
      expect(answer.statusCode).toBe(403);
      expect(answer.json().error.message).toContain(`refused a request from origin ${origin}`);
    }
    expect(await proposals()).toBe(before);
    expect((await call('http://127.0.0.1:7300')).statusCode).toBe(200);
    expect((await call()).statusCode).toBe(200);
    expect(await proposals()).toBe(before + 2);
  });
});
