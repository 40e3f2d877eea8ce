/**
 * Shared pieces of the MCP gateway tests: where the reference MCP servers from npm (and the
 * fault-injection fixture) are, a config that puts them behind Portcullis, and SDK clients
 * that connect to the gateway as an agent over either transport: Streamable HTTP at /mcp, or
 * stdio by launching `portcullis mcp --agent` (from its sources) as an MCP client does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { cliFromSources } from './cli-from-sources.js';
import { openHarness, type Harness } from './harness.js';
import { freePort } from './json-server.js';

const require = createRequire(import.meta.url);

/** The entry point of a published MCP server package, from its package.json `bin`. */
export function serverEntry(pkg: '@modelcontextprotocol/server-memory' | '@modelcontextprotocol/server-everything'): string {
  const manifest = require.resolve(`${pkg}/package.json`);
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> | string };
  const entry = typeof bin === 'string' ? bin : Object.values(bin)[0];
  if (entry === undefined) throw new Error(`${pkg} has no bin entry`);
  return join(dirname(manifest), entry);
}

/**
 * The reference everything server serving Streamable HTTP (`streamableHttp`, port from PORT) as
 * a child process on a free loopback port (or `port`, to start it again where it was), for
 * upstreams reached by `url:`. It gets no other environment than PATH. `stop` ends it (and
 * resolves once it has exited).
 */
export async function startEverythingOverHttp(at?: number): Promise<{ url: string; stop(): Promise<void> }> {
  const port = at ?? await freePort();
  const child = spawn(process.execPath, [serverEntry('@modelcontextprotocol/server-everything'), 'streamableHttp'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`the everything server did not start within 15 s: ${said}`)); }, 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes(`listening on port ${port}`)) { clearTimeout(timer); resolve(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the everything server exited with ${code}: ${said}`)); });
  });
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** The fault-injection fixture server (crashes, a hang, malformed JSON-RPC, an invalid schema, a changing description). */
export const FAULTY_SERVER = fileURLToPath(new URL('./fixtures/faulty-mcp-server.mjs', import.meta.url));

/** A YAML flow list of strings. */
export const yamlList = (items: readonly string[]): string => `[${items.map((i) => JSON.stringify(i)).join(', ')}]`;

/**
 * A config with the memory server (`memory`) and the everything server (`everything`) behind
 * the gateway, for agent `bot` (key env K_AGENT; workflow `notes`, approval-first) and agent
 * `auto-bot` (key env K_OTHER; workflow `tidy`, whose writes run without approval).
 * `MEM_FILE` names the memory server's file; `progressInterval` sets `mcp.progressInterval`; `limits` is the `limits:` section as a YAML flow map. `extraSystems` and `extraGrants` add more;
 * `actions` adds `actions:` overrides, action name → YAML flow value (e.g. `{ risk: write }`).
 */
export function mcpConfig(options: { holdTime?: string; progressInterval?: string; limits?: string; extraSystems?: string; extraGrants?: readonly string[]; autoGrants?: readonly string[]; timeout?: string; actions?: Readonly<Record<string, string>> } = {}): string {
  return `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
${options.limits === undefined ? '' : `limits: ${options.limits}`}
mcp: { holdTime: ${options.holdTime ?? '5s'}${options.progressInterval === undefined ? '' : `, progressInterval: ${options.progressInterval}`} }
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
  ada: { name: Ada, admin: true }
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
    override: { by: ada, reason: "these tests run writes without approval" }
    grants:
      - memory:read_graph:read
      - memory:create_entities:update
      - { grant: memory:delete_entities:delete, explicit: true }
${(options.autoGrants ?? []).map((g) => `      - ${g}`).join('\n')}
${options.actions === undefined ? '' : `actions:\n${Object.entries(options.actions).map(([name, override]) => `  ${name}: ${override}`).join('\n')}`}
`;
}

/** How an agent reaches the MCP gateway. */
export const TRANSPORTS = ['http', 'stdio'] as const;
export type AgentTransport = (typeof TRANSPORTS)[number];

/** What an agent's SDK client declares and handles besides tools (e.g. elicitation, to show it is never used). */
export interface AgentClientOptions {
  readonly capabilities?: ClientCapabilities;
  /** Runs before the client connects: register request handlers here. */
  readonly prepare?: (client: Client) => void;
}

const newClient = (options: AgentClientOptions): Client => {
  const client = new Client({ name: 'test-agent', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  options.prepare?.(client);
  return client;
};

/** An SDK client connected to the gateway's /mcp as the holder of `key`. */
export async function httpAgent(baseUrl: string, key: string, options: AgentClientOptions = {}): Promise<Client> {
  const client = newClient(options);
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

/** The environment a harness's config names (keys, tokens, and `extra`), as an MCP client's launch of `portcullis mcp` would give it. */
export function harnessEnv(harness: Harness, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const { agent, other, dana, dele, fay, tom, ada } = harness.secrets;
  return { K_AGENT: agent, K_OTHER: other, T_DANA: dana, T_DELE: dele, T_FAY: fay, T_TOM: tom, T_ADA: ada, ...extra };
}

/**
 * An SDK client that launches `portcullis mcp --agent AGENT -c CONFIG` (from its sources) over
 * stdio with `env` plus the agent's key in PORTCULLIS_AGENT_KEY, as an MCP client's launch does:
 * bridged to the gateway at `url` when given (`--url`), else `--standalone` (its own upstreams).
 * What the process writes on standard error is kept in `stderr` (for failure messages).
 */
export async function stdioAgent(launch: { config: string; agent: string; key: string; env: Readonly<Record<string, string>>; url?: string }, options: AgentClientOptions = {}): Promise<Client & { stderr: () => string }> {
  const client = newClient(options);
  const cli = cliFromSources(['mcp', '--agent', launch.agent, '-c', launch.config, ...(launch.url === undefined ? ['--standalone'] : ['--url', launch.url])]);
  const transport = new StdioClientTransport({
    command: cli.command,
    args: cli.args,
    env: { ...launch.env, ...cli.env, PORTCULLIS_AGENT_KEY: launch.key },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`portcullis mcp --agent ${launch.agent} did not start: ${(error as Error).message}\n${stderr}`);
  }
  return Object.assign(client, { stderr: () => stderr });
}

/**
 * An SDK client of the harness's gateway as agent `agent` (holding `key`), over `transport`:
 * /mcp at `baseUrl`, or a `portcullis mcp` process bridged to it (the documented set-up).
 * `env` adds to the launch environment (e.g. MEM_FILE).
 */
export function connectAgent(transport: AgentTransport, target: { harness: Harness; baseUrl: string; agent: string; key: string; env?: Readonly<Record<string, string>> }, options: AgentClientOptions = {}): Promise<Client> {
  if (transport === 'http') return httpAgent(target.baseUrl, target.key, options);
  return stdioAgent({ config: join(target.harness.dir, 'portcullis.yaml'), agent: target.agent, key: target.key, env: harnessEnv(target.harness, target.env), url: target.baseUrl }, options);
}

/** A tool call the gateway holds until a person decides. */
export interface HeldCall {
  /** The held proposal's id, as the gateway's first progress notification of the call names it. */
  readonly proposal: Promise<string>;
  /** The call's answer. */
  readonly result: ReturnType<Client['callTool']>;
  /** The messages of the call's progress notifications so far. */
  readonly progress: readonly string[];
}

/**
 * Calls tool `name` as `client`, asking for progress: the gateway, holding a call that needs
 * approval, tells the client so at once in a progress notification that names the proposal.
 * `proposal` rejects if the call is answered first.
 */
export function heldCall(client: Client, name: string, args: Record<string, unknown>): HeldCall {
  const progress: string[] = [];
  let named = (_id: string): void => undefined;
  const proposal = new Promise<string>((resolve) => { named = resolve; });
  const result = client.callTool({ name, arguments: args }, undefined, {
    onprogress: (p) => {
      progress.push(p.message ?? '');
      const id = /\bproposal (\S+) is /.exec(p.message ?? '')?.[1];
      if (id !== undefined) named(id);
    },
  });
  const answered = result.then((r) => { throw new Error(`the call of ${name} was answered without being held: ${resultText(r)}`); });
  return { proposal: Promise.race([proposal, answered]), result, progress };
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

/**
 * A gateway serving `mcpConfig(config)` in front of the reference memory server (its file in a
 * fresh folder), and the agent `bot` connected to it over `transport`. `close` stops both and
 * removes the folder.
 */
export async function openMemoryAgent(transport: AgentTransport, config: Parameters<typeof mcpConfig>[0], env: Readonly<Record<string, string>> = {}): Promise<{ harness: Harness; bot: Client; close(): Promise<void> }> {
  const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
  const withMemory = { MEM_FILE: join(memDir, 'memory.jsonl'), ...env };
  const harness = await openHarness({ configYaml: mcpConfig(config), env: withMemory });
  const baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
  const bot = await connectAgent(transport, { harness, baseUrl, agent: 'bot', key: harness.secrets.agent, env: withMemory });
  return {
    harness, bot,
    async close() {
      await bot.close();
      await harness.close();
      rmSync(memDir, { recursive: true, force: true });
    },
  };
}
