/**
 * The MCP gateway over stdio, as an MCP client launches it: the built `portcullis mcp --agent`
 * command, driven by the official SDK client, in front of the reference memory server. A
 * department lead approves a held call through the HTTP API of the gateway running beside it
 * on the same store (run `npm run build` first; `npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProposalView } from '../http/schemas.js';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { CLI_BIN, mcpConfig, proposalIdOf, resultText } from '../testing/mcp-servers.js';

let harness: Harness;
let client: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const memFile = join(memDir, 'memory.jsonl');

/** The environment the config names, as the MCP client's launch would give it. */
const launchEnv = (): Record<string, string> => ({
  K_AGENT: harness.secrets.agent, K_OTHER: harness.secrets.other, T_DANA: harness.secrets.dana, T_TOM: harness.secrets.tom, MEM_FILE: memFile,
});

beforeAll(async () => {
  if (!existsSync(join(CLI_BIN, '../../dist/cli/main.js'))) throw new Error('the CLI is not built: run `npm run build` before these tests');
  harness = await openHarness({ configYaml: mcpConfig({ holdTime: '20s' }), env: { MEM_FILE: memFile } });
  client = new Client({ name: 'stdio-agent', version: '1.0.0' });
  await client.connect(new StdioClientTransport({
    command: process.execPath,
    args: [CLI_BIN, 'mcp', '--agent', 'bot', '-c', join(harness.dir, 'portcullis.yaml')],
    env: { ...launchEnv(), PORTCULLIS_AGENT_KEY: harness.secrets.agent },
    stderr: 'pipe',
  }));
}, 60_000);

afterAll(async () => {
  await client?.close();
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe('portcullis mcp over stdio (memory and everything servers)', () => {
  it('lists the granted tools and runs a read tool at once', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['create_entities', 'delete_entities', 'echo', 'get-env', 'read_graph']);
    const echoed = await client.callTool({ name: 'echo', arguments: { message: 'over stdio' } });
    expect(resultText(echoed)).toContain('over stdio');
  });

  it('holds a write until a lead approves it on the running gateway, then returns its result', async () => {
    const call = client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Linus', entityType: 'person', observations: [] }] } });
    let id: string | undefined;
    for (let i = 0; i < 200 && id === undefined; i += 1) {
      const res = await harness.request('dana', { method: 'GET', url: '/v1/approvals?status=pending_approval' });
      id = (res.json() as { proposals: ProposalView[] }).proposals.find((p) => p.action === 'memory.create_entities')?.id;
      if (id === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(id).toBeDefined();
    const approved = await harness.request('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'ok' } });
    expect(approved.statusCode).toBe(200);
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect(proposalIdOf(result)).toBe(id);
    expect(readFileSync(memFile, 'utf8')).toContain('"Linus"');
    expect((await auditTrail(harness)).filter((e) => e.proposalId === id && e.type === 'execution.started')).toHaveLength(1);
  });

  it('refuses to serve without the agent\'s key, or with another key', () => {
    const config = join(harness.dir, 'portcullis.yaml');
    const noKey = spawnSync(process.execPath, [CLI_BIN, 'mcp', '--agent', 'bot', '-c', config], { env: { ...launchEnv(), PATH: process.env.PATH ?? '' }, encoding: 'utf8', input: '' });
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('no agent key: set PORTCULLIS_AGENT_KEY');
    expect(noKey.stdout).toBe('');
    const wrong = spawnSync(process.execPath, [CLI_BIN, 'mcp', '--agent', 'bot', '-c', config], { env: { ...launchEnv(), PORTCULLIS_AGENT_KEY: harness.secrets.other }, encoding: 'utf8', input: '' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('the key given is not the API key of agent "bot"');
    const noAgent = spawnSync(process.execPath, [CLI_BIN, 'mcp', '-c', config], { env: { ...launchEnv(), PORTCULLIS_AGENT_KEY: harness.secrets.agent }, encoding: 'utf8', input: '' });
    expect(noAgent.status).toBe(2);
    expect(noAgent.stderr).toContain('--agent ID is required');
  });
});
