/**
 * Upstream failures: an MCP server that crashes, hangs, answers malformed JSON-RPC or lists a
 * tool with an invalid input schema (the fault-injection fixture), and one that cannot be
 * started at all. Each gives the agent a clear error and is audited, and the gateway keeps
 * serving the other tools and systems (the reference memory server beside them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { FAULTY_SERVER, httpAgent, mcpConfig, proposalIdOf, resultText, yamlList } from '../testing/mcp-servers.js';

let harness: Harness;
let bot: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));

const faulty = `
  faulty:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    timeout: 2s
  dead:
    kind: mcp
    command: /nonexistent/portcullis-test-mcp-server
    timeout: 2s
`;
const grants = ['faulty:ping:read', 'faulty:crash:read', 'faulty:hang:read', 'faulty:garble:read', 'faulty:broken_schema:read', 'dead:anything:read'];

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig({ extraSystems: faulty, extraGrants: grants }), env: { MEM_FILE: join(memDir, 'memory.jsonl') } });
  bot = await httpAgent(await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' }), harness.secrets.agent);
}, 60_000);

afterAll(async () => {
  await bot?.close();
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

const stillServing = async (): Promise<void> => {
  expect(resultText(await bot.callTool({ name: 'ping', arguments: {} }))).toBe('pong');
  expect((await bot.callTool({ name: 'read_graph', arguments: {} })).isError).not.toBe(true);
};

const failedExecution = async (result: unknown) => {
  const id = proposalIdOf(result);
  return (await auditTrail(harness)).find((e) => e.proposalId === id && e.type === 'execution.failed');
};

describe('upstream MCP servers that fail', () => {
  it('starts without an upstream that cannot be launched, reporting and auditing it', async () => {
    expect(harness.gateway.warnings.join('\n')).toMatch(/MCP system "dead" failed while connecting: .*ENOENT.*; its tools are not offered until the gateway is restarted/);
    const failed = (await auditTrail(harness)).find((e) => e.type === 'mcp.upstream_failed');
    expect(failed?.data).toMatchObject({ system: 'dead', code: 'UPSTREAM_FAILED' });
    await stillServing();
  });

  it('does not offer a tool whose input schema is invalid, says why when it is called, and serves the others', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).toContain('ping');
    expect(tools.map((t) => t.name)).not.toContain('broken_schema');
    expect(harness.gateway.warnings.join('\n')).toMatch(/tool "broken_schema": its inputSchema is not a valid JSON Schema/);
    const listed = (await auditTrail(harness)).find((e) => e.type === 'mcp.tools_listed' && e.data.system === 'faulty');
    expect(JSON.stringify(listed?.data.rejected)).toContain('broken_schema');
    await expect(bot.callTool({ name: 'broken_schema', arguments: { x: 'y' } })).rejects.toThrow(/not a valid JSON Schema/);
    await stillServing();
  });

  it('reports an upstream that crashes mid-call, audits the failure, and connects again for the next call', async () => {
    const result = await bot.callTool({ name: 'crash', arguments: {} });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/ran and failed \(UPSTREAM_FAILED\): MCP system "faulty" failed while calling tool "crash": it stopped/);
    expect(resultText(result)).toContain('crashing on purpose');
    expect((await failedExecution(result))?.data.code).toBe('UPSTREAM_FAILED');
    await stillServing();
  });

  it('gives up on an upstream that hangs after its timeout', async () => {
    const started = Date.now();
    const result = await bot.callTool({ name: 'hang', arguments: {} });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/did not answer within 2s/);
    expect((await failedExecution(result))?.data.code).toBe('UPSTREAM_FAILED');
    await stillServing();
  });

  it('treats an upstream that answers malformed JSON-RPC as broken, and connects again', async () => {
    const result = await bot.callTool({ name: 'garble', arguments: {} });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/malformed JSON-RPC/);
    expect((await failedExecution(result))?.data.code).toBe('UPSTREAM_FAILED');
    await stillServing();
  });
});
