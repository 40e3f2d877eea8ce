/**
 * One size limit on every face: params above `limits.paramsBytes` get the same PARAMS_TOO_LARGE
 * answer over Streamable HTTP, over stdio (`portcullis mcp`) and on POST /v1/actions, audited,
 * with nothing proposed; an upstream result above `limits.resultBytes` is kept and returned as a
 * marker that says so with the start of its text; a 1 MB argument under a larger limit is stored
 * once (in the proposal; its audit events refer to it by digest). In front of the reference
 * everything server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { canonicalJson, sha256Hex } from '@portcullis/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { TRANSPORTS, connectAgent, httpAgent, mcpConfig, proposalIdOf, resultText } from '../testing/mcp-servers.js';

const RESULT_LIMIT = 4000;
const big = { message: 'x'.repeat(100_000) };
const tooLarge = `PARAMS_TOO_LARGE: params of ${JSON.stringify(big).length} bytes (as JSON) are larger than the 65536 bytes this gateway accepts (limits.paramsBytes)`;

let harness: Harness;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
const env = { MEM_FILE: join(memDir, 'memory.jsonl') };
let baseUrl: string;

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig({ limits: `{ paramsBytes: 65536, resultBytes: ${RESULT_LIMIT} }` }), env });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

const proposals = (): Promise<number> => harness.gateway.store.countProposals({ workflow: 'notes' });

it('refuses a 100 KB argument on POST /v1/actions with 413 PARAMS_TOO_LARGE, storing no proposal', async () => {
  const before = await proposals();
  const res = await proposeAs(harness, 'agent', { workflow: 'notes', action: 'everything.echo', params: big });
  expect(res.statusCode).toBe(413);
  expect(`${res.json().error.code}: ${res.json().error.message}`).toContain(tooLarge);
  expect(await proposals()).toBe(before);
});

describe.each(TRANSPORTS)('over %s', (transport) => {
  let bot: Client;
  beforeAll(async () => {
    bot = await connectAgent(transport, { harness, baseUrl, agent: 'bot', key: harness.secrets.agent, env });
  }, 60_000);
  afterAll(async () => { await bot?.close(); });

  it('refuses a 100 KB argument with the same PARAMS_TOO_LARGE answer, audited, storing no proposal', async () => {
    const before = await proposals();
    const result = await bot.callTool({ name: 'echo', arguments: big });
    expect(result.isError).toBe(true);
    expect(resultText(result)).toContain(tooLarge);
    expect(await proposals()).toBe(before);
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').at(-1);
    expect(refused?.data).toMatchObject({ code: 'PARAMS_TOO_LARGE', action: 'everything.echo' });
    expect(JSON.stringify(refused?.data).length).toBeLessThan(2000);
  });

  it('replaces a result above limits.resultBytes by a marker with the start of its text, kept within the limit', async () => {
    const message = `start-${'y'.repeat(2 * RESULT_LIMIT)}`;
    const result = await bot.callTool({ name: 'echo', arguments: { message } });
    expect(result.isError).not.toBe(true);
    const text = resultText(result);
    expect(text).toMatch(/^RESULT TRUNCATED by Portcullis: tool "echo" of MCP system "everything" ran and answered \d+ bytes, more than the 4000 bytes kept \(limits\.resultBytes\)/);
    expect(text).toContain('Echo: start-yyy');
    const stored = await harness.gateway.store.getProposal(proposalIdOf(result) ?? '');
    expect(stored?.status).toBe('succeeded');
    expect(JSON.stringify(stored?.result).length).toBeLessThanOrEqual(RESULT_LIMIT);
    // A result within the limit is returned as the tool gave it.
    expect(resultText(await bot.callTool({ name: 'echo', arguments: { message: 'small' } }))).toBe('Echo: small');
  });
});

describe('a 1 MB argument under the limit', () => {
  let big1: Harness;
  let bot: Client;
  beforeAll(async () => {
    big1 = await openHarness({ configYaml: mcpConfig({ limits: '{ paramsBytes: 2097152, resultBytes: 2097152 }' }), env: { MEM_FILE: join(memDir, 'memory-big.jsonl') } });
    bot = await httpAgent(await big1.gateway.app.listen({ port: 0, host: '127.0.0.1' }), big1.secrets.agent);
  }, 60_000);
  afterAll(async () => {
    await bot?.close();
    await big1?.close();
  });

  it('is stored once, in the proposal: its audit events refer to the params and the result by digest', async () => {
    const message = 'z'.repeat(1_000_000);
    const result = await bot.callTool({ name: 'echo', arguments: { message } });
    expect(resultText(result)).toBe(`Echo: ${message}`);
    const id = proposalIdOf(result) ?? '';
    const stored = await big1.gateway.store.getProposal(id);
    expect(stored?.params).toEqual({ message });
    const events = (await auditTrail(big1)).filter((e) => e.proposalId === id);
    expect(events.map((e) => e.type)).toEqual(['proposal.received', 'proposal.decided', 'execution.started', 'execution.succeeded']);
    // Every event of the proposal together is small: neither the params nor the result is copied into them.
    expect(JSON.stringify(events).length).toBeLessThan(10_000);
    const received = events[0]?.data.params as { storedIn: string; sha256: string; bytes: number };
    expect(received).toEqual({ storedIn: 'proposal.params', sha256: sha256Hex(canonicalJson(stored?.params ?? null)), bytes: canonicalJson(stored?.params ?? null).length });
    expect(events[3]?.data.result).toMatchObject({ storedIn: 'proposal.result', sha256: sha256Hex(canonicalJson(stored?.result ?? null)) });
  }, 60_000);
});
