/**
 * HTTP/OpenAPI operations and email sends are MCP tools too, driven by the official SDK client
 * over stdio and Streamable HTTP: each offered with a name clients accept and the annotations its risk
 * class gives (an update a write, a delete destructive, an email destructive and open-world).
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_NAME_PATTERN } from '../config/schema.js';
import { harnessConfig, openHarness, type Harness } from '../testing/harness.js';
import { LEADS_OPENAPI } from '../testing/json-server.js';
import { TRANSPORTS, connectAgent } from '../testing/mcp-servers.js';

let harness: Harness;
let baseUrl: string;

beforeAll(async () => {
  harness = await openHarness({
    configYaml: harnessConfig({
      extraSystemsYaml: `  api:
    kind: http
    openapi: ${LEADS_OPENAPI}
    baseUrl: http://127.0.0.1:1/api
    auth: { kind: none }
  mail:
    kind: smtp
    host: 127.0.0.1
    port: 2525
    from: agent@example.com`,
      extraWorkflowYaml: `  outreach:
    description: Update leads through the API and email them
    agent: other-agent
    department: sales
    owner: tom
    runbook: By hand.
    grants: [api:leads:update, { grant: api:leads:delete, explicit: true }, { grant: mail:email:send, explicit: true }]`,
    }),
  });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => harness?.close());

describe.each(TRANSPORTS)('HTTP operations and email as MCP tools over %s', (transport) => {
  let client: Client;
  beforeAll(async () => {
    client = await connectAgent(transport, { harness, baseUrl, agent: 'other-agent', key: harness.secrets.other });
  }, 60_000);
  afterAll(async () => client?.close());

  it('offers each granted operation and the email send, annotated by risk', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of byName.keys()) expect(name).toMatch(TOOL_NAME_PATTERN);
    expect([...byName.keys()].sort()).toEqual(['api__deleteLead', 'api__replaceLead', 'api__updateLead', 'mail__email__send']);
    expect(byName.get('api__updateLead')?.annotations).toEqual({ readOnlyHint: false, destructiveHint: false, openWorldHint: false });
    expect(byName.get('api__deleteLead')?.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(byName.get('mail__email__send')?.annotations).toEqual({ readOnlyHint: false, destructiveHint: true, openWorldHint: true });
    expect(byName.get('mail__email__send')?.description).toMatch(/\[Portcullis: high risk: .*; always needs a person's approval\. It cannot be undone\.\]$/);
    expect(byName.get('mail__email__send')?.inputSchema.properties).toHaveProperty('subject');
  });
});
