/**
 * Rug-pull detection without pins: an upstream MCP tool whose definition changes while the
 * gateway runs is blocked until an admin accepts it, even when nobody ever ran
 * `portcullis mcp pin` for its system. The gateway compares the tool as last listed with the
 * tool as it loaded it at start. The change comes from the fault-injection fixture's `mutate`
 * tool, which rewrites another tool's description and announces it (tools/list_changed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../../testing/harness.js';
import { FAULTY_SERVER, yamlList } from '../../testing/mcp-servers.js';
import { isMcpConnector } from './mcp-connector.js';

let harness: Harness;
afterEach(async () => harness?.close());

const config = (): string => harnessConfig({
  extraSystemsYaml: `
  faulty:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([FAULTY_SERVER])}
    timeout: 10s`,
  extraWorkflowYaml: `
  chat:
    description: Say things
    agent: other-agent
    department: finance
    owner: tom
    runbook: Say them yourself.
    grants: [faulty:described:read, faulty:mutate:read]`,
});

const call = (tool: string, params: Record<string, unknown> = {}) => proposeAs(harness, 'other', { workflow: 'chat', action: `faulty.${tool}`, params });

describe('MCP tool changed while the gateway runs, no pins configured', () => {
  it('blocks the changed tool on its next call, saying why, and audits it', async () => {
    harness = await openHarness({ configYaml: config() });
    expect(await harness.gateway.store.getToolPins('faulty')).toEqual([]);
    const before = await call('described', { text: 'hi' });
    expect(before.json()).toMatchObject({ status: 'succeeded', result: { content: [{ type: 'text', text: 'said: hi' }] } });

    expect((await call('mutate')).json()).toMatchObject({ status: 'succeeded' });
    // The fixture changed the description before answering and announced it; wait for the
    // listing that announcement starts (or list afresh), so the gateway has seen the change.
    const connector = harness.gateway.connectors.get('faulty');
    if (!isMcpConnector(connector)) throw new Error('faulty is not an MCP connector');
    expect(await connector.discover()).toMatchObject({ ok: true });
    expect(connector.current().get('described')?.tool.description).toMatch(/something else now/);

    const after = await call('described', { text: 'hi' });
    expect(after.json()).toMatchObject({ status: 'denied', decision: { outcome: 'deny', code: 'TOOL_BLOCKED' } });
    expect(after.json().decision.reasons.join(' ')).toMatch(/tool "described" of MCP system "faulty" changed since the gateway started.*portcullis mcp pin --system faulty/);
    const trail = await auditTrail(harness);
    expect(trail.filter((e) => e.type === 'mcp.tool_blocked').map((e) => e.data.tool)).toEqual(['described']);
    expect(trail.filter((e) => e.type === 'execution.started' && e.proposalId === after.json().id)).toEqual([]);
    // The tool that did not change still runs.
    expect((await call('mutate')).json()).toMatchObject({ status: 'succeeded' });
  });
});
