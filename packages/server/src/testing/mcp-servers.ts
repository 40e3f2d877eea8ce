/**
 * Shared pieces of the MCP gateway tests: where the reference MCP servers from npm (and the
 * fault-injection fixture) are, a config that puts them behind Portcullis, and SDK clients
 * that connect to the gateway as an agent.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const require = createRequire(import.meta.url);

/** The entry point of a published MCP server package, from its package.json `bin`. */
export function serverEntry(pkg: '@modelcontextprotocol/server-memory' | '@modelcontextprotocol/server-everything'): string {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> | string };
  const entry = typeof bin === 'string' ? bin : Object.values(bin)[0];
  if (entry === undefined) throw new Error(`${pkg} has no bin entry`);
  return join(dirname(manifest), entry);
}

/** The fault-injection fixture server (crash, hang, malformed JSON-RPC, invalid schema, changing description). */
export const FAULTY_SERVER = fileURLToPath(new URL('./fixtures/faulty-mcp-server.mjs', import.meta.url));

/** The built CLI (`npm run build` first). */
export const CLI_BIN = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));

/** A YAML flow list of strings. */
export const yamlList = (items: readonly string[]): string => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/**
 * A config with the memory server (`memory`) and the everything server (`everything`) behind
 * the gateway, for agent `bot` (key env K_AGENT; workflow `notes`, approval-first) and agent
 * `auto-bot` (key env K_OTHER; workflow `tidy`, whose writes run without approval).
 * `MEM_FILE` names the memory server's file. `extraSystems` and `extraGrants` add more.
 */
export function mcpConfig(options: { holdTime?: string; extraSystems?: string; extraGrants?: readonly string[]; autoGrants?: readonly string[]; timeout?: string } = {}): string {
  return `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
mcp: { holdTime: ${options.holdTime ?? '5s'} }
systems:
  memory:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([serverEntry('@modelcontextprotocol/server-memory')])}
    env: { MEMORY_FILE_PATH: { env: MEM_FILE } }
    timeout: ${options.timeout ?? '20s'}
  everything:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([serverEntry('@modelcontextprotocol/server-everything'), 'stdio'])}
    timeout: ${options.timeout ?? '20s'}
${options.extraSystems ?? ''}
departments:
  ops: { name: Operations, leads: [dana] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  tom: { name: Tom, tokenEnv: T_TOM }
agents:
  bot: { name: Notes bot, owner: tom, department: ops, keyEnv: K_AGENT }
  auto-bot: { name: Tidy bot, owner: tom, department: ops, keyEnv: K_OTHER }
workflows:
  notes:
    description: Keep the team's knowledge graph
    agent: bot
    department: ops
    owner: tom
    runbook: Edit the knowledge graph by hand.
    grants:
      - memory:read_graph:read
      - memory:create_entities:update
      - { grant: memory:delete_entities:delete, explicit: true }
      - everything:echo:read
      - everything:get-env:read
${(options.extraGrants ?? []).map((g) => `      - ${g}`).join('\n')}
  tidy:
    description: Tidy the knowledge graph
    agent: auto-bot
    department: ops
    owner: tom
    runbook: Tidy it by hand.
    mode: { read: auto, write: auto }
    grants:
      - memory:read_graph:read
      - memory:create_entities:update
      - { grant: memory:delete_entities:delete, explicit: true }
${(options.autoGrants ?? []).map((g) => `      - ${g}`).join('\n')}
`;
}

/** An SDK client connected to the gateway's /mcp as the holder of `key`. */
export async function httpAgent(baseUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

/** The text of a tool result. */
export function resultText(result: unknown): string {
  const content = (result as CallToolResult).content;
  return (Array.isArray(content) ? content : []).map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

/** The proposal id a gateway answer carries in its `_meta`. */
export function proposalIdOf(result: unknown): string | undefined {
  return ((result as CallToolResult)._meta?.['portcullis/proposal'] as { id?: string } | undefined)?.id;
}
