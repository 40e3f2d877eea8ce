/**
 * Upstream failures: an MCP server that crashes (mid-call, while listing its tools at start, or
 * while the gateway lists them again after a tools/list_changed), hangs,
 * answers malformed JSON-RPC (a line that is not JSON, JSON that is not JSON-RPC 2.0, a response
 * to a request never made) or lists a tool with an invalid input schema (the fault-injection
 * fixture), and one that cannot be started at all. Each gives the agent a clear error and is
 * audited, and the gateway keeps serving the other tools and systems (the reference memory
 * server beside them).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AuditEventDraft } from '@portcullis/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditTrail, openHarness, type Harness } from '../testing/harness.js';
import { FAULTY_SERVER, httpAgent, mcpConfig, proposalIdOf, resultText, yamlList } from '../testing/mcp-servers.js';

let harness: Harness;
let bot: Client;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
/** While this file exists, the `relist` system's fixture crashes whenever it is asked for its tools. */
const relistCrashFile = join(memDir, 'relist-crashes');

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
  crashlist:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_CRASH_ON_LIST: { env: CRASH_ON_LIST } }
    timeout: 2s
  relist:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_CRASH_ON_LIST_FILE: { env: RELIST_CRASH_FILE } }
    timeout: 2s
  patient:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    timeout: 10m
`;
// `patient` waits longer than a test may run (vitest's 30 s): a call of its tools that the gateway
// answers at all was answered without waiting for the timeout.
const grants = [
  'faulty:ping:read', 'faulty:crash:read', 'faulty:hang:read', 'faulty:garble:read', 'patient:wrong_version:read', 'patient:stray_id:read',
  'faulty:broken_schema:read', 'dead:anything:read', 'crashlist:ping:read', 'relist:described:read', 'relist:mutate:read',
];

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig({ extraSystems: faulty, extraGrants: grants }), env: { MEM_FILE: join(memDir, 'memory.jsonl'), CRASH_ON_LIST: '1', RELIST_CRASH_FILE: relistCrashFile } });
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

/** Resolves once the gateway has stored an audit event that `matches`, among those it appends from now on. */
function auditRecorded(matches: (event: AuditEventDraft) => boolean): Promise<void> {
  const { store } = harness.gateway;
  const append = store.appendAudit.bind(store);
  return new Promise((resolve) => {
    const spy = vi.spyOn(store, 'appendAudit').mockImplementation(async (events) => {
      const sealed = await append(events);
      if (events.some(matches)) {
        spy.mockRestore();
        resolve();
      }
      return sealed;
    });
  });
}

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
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').at(-1);
    expect(refused?.actor).toMatchObject({ kind: 'agent', id: 'bot' });
    expect(refused?.data).toMatchObject({ code: 'ACTION_NOT_FOUND', action: 'broken_schema' });
    expect(String(refused?.data.message)).toMatch(/MCP system "faulty": tool "broken_schema": its inputSchema is not a valid JSON Schema/);
    await stillServing();
  });

  it('starts without an upstream that crashes while listing its tools, audits it, and tells an agent that calls its tools why', async () => {
    expect(harness.gateway.warnings.join('\n')).toMatch(/MCP system "crashlist" failed while listing its tools: it stopped or could not be reached .*; its tools are not offered until the gateway is restarted/);
    const failed = (await auditTrail(harness)).find((e) => e.type === 'mcp.upstream_failed' && e.data.system === 'crashlist');
    expect(failed?.data).toMatchObject({ code: 'UPSTREAM_FAILED' });
    expect(String(failed?.data.message)).toContain('crashing while listing tools');
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).toContain('ping');
    expect(tools.map((t) => t.name)).not.toContain('crashlist__ping');
    // As an agent would call it after seeing it beside faulty's ping in an earlier session.
    await expect(bot.callTool({ name: 'crashlist__ping', arguments: {} }))
      .rejects.toThrow(/tool "crashlist__ping" is granted but not offered: MCP system "crashlist" failed while listing its tools: .*; its tools are not offered until the gateway is restarted/);
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').at(-1);
    expect(refused?.data).toMatchObject({ code: 'ACTION_NOT_FOUND', action: 'crashlist__ping' });
    expect(String(refused?.data.message)).toContain('MCP system "crashlist" failed while listing its tools');
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
    const result = await bot.callTool({ name: 'hang', arguments: {} });
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

  it('treats an upstream that answers JSON that is not JSON-RPC 2.0 (version "1.0") as broken at once, audits it, and connects again', async () => {
    const result = await bot.callTool({ name: 'wrong_version', arguments: {} });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/ran and failed \(UPSTREAM_FAILED\): MCP system "patient" failed while calling tool "wrong_version": it sent malformed JSON-RPC: a message whose "jsonrpc" is not "2\.0"/);
    const failed = await failedExecution(result);
    expect(failed?.data.code).toBe('UPSTREAM_FAILED');
    expect(String(failed?.data.message)).toContain('"jsonrpc" is not "2.0"');
    await stillServing();
  });

  it('treats an upstream that answers a request never made as broken at once, audits it, and connects again', async () => {
    const result = await bot.callTool({ name: 'stray_id', arguments: {} });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toMatch(/ran and failed \(UPSTREAM_FAILED\): MCP system "patient" failed while calling tool "stray_id": it sent malformed JSON-RPC: a response to a request the gateway never made \(id 987654321\)/);
    const failed = await failedExecution(result);
    expect(failed?.data.code).toBe('UPSTREAM_FAILED');
    expect(String(failed?.data.message)).toContain('never made');
    await stillServing();
  });

  it('stops running an upstream\'s tools when it crashes while they are listed again after start, audits it once, serves the others, and runs them again once a listing succeeds', async () => {
    const relistFailures = async () => (await auditTrail(harness)).filter((e) => e.type === 'mcp.upstream_failed' && e.data.system === 'relist');
    expect(resultText(await bot.callTool({ name: 'described', arguments: { text: 'before' } }))).toBe('said: before');
    writeFileSync(relistCrashFile, '');
    const relistFailed = auditRecorded((e) => e.type === 'mcp.upstream_failed' && e.data.system === 'relist');
    // `mutate` announces tools/list_changed; the gateway lists the tools again and the upstream crashes.
    expect(resultText(await bot.callTool({ name: 'mutate', arguments: {} }))).toBe('mutated');
    await relistFailed;
    const [failed] = await relistFailures();
    expect(failed?.actor).toMatchObject({ kind: 'system', id: 'gateway' });
    expect(failed?.data).toMatchObject({ system: 'relist', code: 'UPSTREAM_FAILED' });
    expect(String(failed?.data.message)).toMatch(/^MCP system "relist" failed while listing its tools: it stopped or could not be reached .*its last output on stderr: faulty fixture: crashing while listing tools/);

    // Its last good listing is not offered any more, and its tools are not run: the call says why, naming the upstream.
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).not.toContain('described');
    expect(tools.map((t) => t.name)).not.toContain('mutate');
    const refused = await bot.callTool({ name: 'described', arguments: { text: 'during' } });
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toMatch(/denied this call \(TOOL_BLOCKED\): MCP system "relist" failed while listing its tools: .*; the tools of MCP system "relist" are not run until it lists them again/);
    const decided = (await auditTrail(harness)).find((e) => e.proposalId === proposalIdOf(refused) && e.type === 'proposal.decided');
    expect(decided?.data).toMatchObject({ outcome: 'deny', code: 'TOOL_BLOCKED' });
    expect((await auditTrail(harness)).some((e) => e.proposalId === proposalIdOf(refused) && e.type.startsWith('execution.'))).toBe(false);
    await stillServing();
    // Reported once, however often listing it is tried again while it keeps crashing (here by a pre-flight check).
    expect(await harness.gateway.connectors.get('relist')?.check()).toMatchObject({ ok: false, error: expect.stringContaining('crashing while listing tools') });
    expect(await relistFailures()).toHaveLength(1);

    rmSync(relistCrashFile);
    // Once the gateway's wait before listing a failed upstream again has passed (Date moved a
    // minute on), listing the tools lists them again.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60_000 });
    try {
      expect((await bot.listTools()).tools.map((t) => t.name)).toContain('described');
      expect(resultText(await bot.callTool({ name: 'described', arguments: { text: 'after' } }))).toBe('said: after');
    } finally {
      vi.useRealTimers();
    }
    expect(await relistFailures()).toHaveLength(1);
  }, 60_000);
});
