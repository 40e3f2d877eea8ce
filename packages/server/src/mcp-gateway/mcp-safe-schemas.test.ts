/**
 * Upstream tool schemas cannot stall the gateway: an upstream (the fixture server, a real MCP
 * server process built with the SDK) lists a tool whose input schema has the catastrophic
 * pattern `(a+)+$`, and a tool whose pattern (`x(?=y)`) the linear-time engine cannot run.
 * Over both transports, a call with a long non-matching argument is refused naming the pattern
 * while another call started after it is answered too (on a backtracking engine the first
 * call would hold the event loop and neither would ever be answered), and the second tool is
 * not offered, saying why.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditTrail, type Harness } from '../testing/harness.js';
import { FAULTY_SERVER, TRANSPORTS, resultText, yamlList, openMemoryAgent } from '../testing/mcp-servers.js';

const patterns = `
  patterns:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_PATTERN_TOOLS: { env: PATTERN_TOOLS } }
    timeout: 10s
`;

describe.each(TRANSPORTS)('over %s', (transport) => {
  let opened: Awaited<ReturnType<typeof openMemoryAgent>> | undefined;
  let harness: Harness;
  let bot: Client;

  beforeAll(async () => {
    opened = await openMemoryAgent(transport, { extraSystems: patterns, extraGrants: ['patterns:match:read', 'patterns:lookahead:read', 'patterns:ping:read'] }, { PATTERN_TOOLS: '1' });
    ({ harness, bot } = opened);
  }, 60_000);

  afterAll(async () => opened?.close());

  it('refuses a long argument that misses a catastrophic pattern at once, and answers a call started after it', async () => {
    const answered: string[] = [];
    const evil = bot.callTool({ name: 'match', arguments: { text: `${'a'.repeat(50_000)}!` } }).then((r) => { answered.push('match'); return r; });
    const after = bot.callTool({ name: 'ping', arguments: {} }).then((r) => { answered.push('ping'); return r; });
    const [refused, pong] = await Promise.all([evil, after]);
    expect(answered.sort()).toEqual(['match', 'ping']);
    expect(resultText(pong)).toBe('pong');
    expect(refused.isError).toBe(true);
    expect(resultText(refused)).toContain('INVALID_PARAMS');
    expect(resultText(refused)).toContain('text: must match pattern "(a+)+$"');
    // A matching argument runs.
    expect(resultText(await bot.callTool({ name: 'match', arguments: { text: 'baaa' } }))).toBe('said: baaa');
  });

  it('does not offer a tool whose pattern the linear-time engine cannot run, and says why when it is called', async () => {
    const { tools } = await bot.listTools();
    expect(tools.map((t) => t.name)).toContain('match');
    expect(tools.map((t) => t.name)).not.toContain('lookahead');
    expect(harness.gateway.warnings.join('\n')).toContain('tool "lookahead": its inputSchema\'s pattern "x(?=y)" cannot be run by the gateway\'s linear-time regular-expression engine');
    const listed = (await auditTrail(harness)).find((e) => e.type === 'mcp.tools_listed' && e.data.system === 'patterns');
    expect(JSON.stringify(listed?.data.rejected)).toContain('x(?=y)');
    await expect(bot.callTool({ name: 'lookahead', arguments: { text: 'xy' } })).rejects.toThrow(/tool "lookahead" is granted but not offered: .*pattern "x\(\?=y\)" cannot be run/);
  });
});
