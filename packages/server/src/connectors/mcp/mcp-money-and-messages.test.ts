/**
 * Money and messages named as such, for MCP tools (whose names are known only once the upstream
 * is listed, at start): a write tool named like a refund is not offered until the config
 * classes it, and the start says so (a warning, and `rejected` in `mcp.tools_listed`); tagged
 * high it is offered as high; declared not money or messages, it is offered and the reason is
 * in `gateway.started`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, type Harness } from '../../testing/harness.js';
import { join } from 'node:path';
import { FAULTY_SERVER, harnessEnv, yamlList } from '../../testing/mcp-servers.js';
import { runCli } from '../../testing/run-cli.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const config = (actions = ''): string => `${harnessConfig({
  extraSystemsYaml: `
  faulty:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    env: { FIXTURE_MONEY_TOOL: { env: MONEY_TOOL } }
    timeout: 20s`,
})}${actions}`;

describe('MCP tools named like money or messages', () => {
  it('fails validate --online on an unclassed refund tool, naming it and both fixes', async () => {
    harness = await openHarness({ configYaml: config(), env: { MONEY_TOOL: '1' } });
    const path = join(harness.dir, 'portcullis.yaml');
    Object.assign(process.env, { ...harnessEnv(harness), MONEY_TOOL: '1' });
    const online = await runCli(['validate', '--online', path]);
    expect(online.code).toBe(1);
    expect(online.err).toMatch(/actions\["faulty\.issue_refund"\]: MCP system "faulty": tool "issue_refund": .*refund.*tag it high .*notMoneyOrMessages/);
  });

  it('does not offer an unclassed refund tool, and says so at start', async () => {
    harness = await openHarness({ configYaml: config(), env: { MONEY_TOOL: '1' } });
    expect(harness.gateway.config.actions.has('faulty.issue_refund')).toBe(false);
    expect(harness.gateway.warnings.join('\n')).toMatch(/tool "issue_refund": faulty\.issue_refund is a write action whose name says "refund" \(money\); class it before it can load: tag it high .*notMoneyOrMessages.*; the tool is not offered until it is classed/);
    const listed = (await auditTrail(harness)).find((e) => e.type === 'mcp.tools_listed');
    expect(JSON.stringify(listed?.data.rejected)).toContain('issue_refund');
  });

  it('offers it as high once tagged, or as a write once declared not money, with the reason audited at start', async () => {
    harness = await openHarness({ configYaml: config('\nactions:\n  faulty.issue_refund: { tags: [refund] }\n'), env: { MONEY_TOOL: '1' } });
    expect(harness.gateway.config.actions.get('faulty.issue_refund')).toMatchObject({ risk: 'high' });
    await harness.close();
    harness = await openHarness({ configYaml: config('\nactions:\n  faulty.issue_refund: { notMoneyOrMessages: "a test double; it moves no money" }\n'), env: { MONEY_TOOL: '1' } });
    expect(harness.gateway.config.actions.get('faulty.issue_refund')).toMatchObject({ risk: 'write' });
    const started = (await auditTrail(harness)).find((e) => e.type === 'gateway.started');
    expect(started?.data).toMatchObject({ notMoneyOrMessages: { 'faulty.issue_refund': 'a test double; it moves no money' } });
  });
});
