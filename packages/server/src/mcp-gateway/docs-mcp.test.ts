/**
 * docs/mcp.md is exact:
 * - every JSON client snippet names the real command, flags and URL, and is exercised as its
 *   client would use it (the stdio ones launch the CLI, from its sources; the HTTP ones connect
 *   to /mcp),
 *   with the documented placeholders filled in;
 * - the OpenAI Agents SDK TypeScript snippet type-checks against the installed
 *   `@openai/agents`, and its MCP server construction, as written, is run with the SDK's own
 *   classes against the real gateway (connect, list the granted tools, call a read tool);
 *   only the part that needs a model (the Agent and `run`) is not run;
 * - the Python snippet uses the `openai-agents` API (checked as text: no Python here);
 * - every YAML snippet compiles with the real config loader;
 * - the ways to approve it names exist (CLI commands, API routes), and no other.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MCPServerStdio, MCPServerStreamableHttp } from '@openai/agents';
import type { Command } from 'commander';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../cli/main.js';
import { createCliHost } from '../wiring/cli-host.js';
import { parseDuration } from '../config/duration.js';
import { formatConfigErrors, parseConfigText } from '../config/load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { DEFAULT_MCP_HOLD } from '../config/schema.js';
import { CONFIG_DEFAULTS } from '../config/schema.js';
import { cliFromSources } from '../testing/cli-from-sources.js';
import { openHarness, type Harness } from '../testing/harness.js';
import { mcpConfig, resultText } from '../testing/mcp-servers.js';
import { MCP_PATH } from './http-route.js';

const DOC_PATH = fileURLToPath(new URL('../../../../docs/mcp.md', import.meta.url));
const doc = readFileSync(DOC_PATH, 'utf8');
const blocks = (lang: string): string[] => [...doc.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] as string);

interface ServerEntry { type?: string; command?: string; args?: string[]; env?: Record<string, string>; url?: string; headers?: Record<string, string> }
interface Snippet { file: unknown; inputs: { id: string }[]; servers: ServerEntry[] }

const snippets: Snippet[] = blocks('json').map((text) => {
  const file = JSON.parse(text) as { mcpServers?: Record<string, ServerEntry>; servers?: Record<string, ServerEntry>; inputs?: { id: string }[] };
  return { file, inputs: file.inputs ?? [], servers: Object.values(file.mcpServers ?? file.servers ?? {}) };
});

const DOC_CONFIG = '/etc/portcullis/portcullis.yaml';
const DOC_AGENT = 'notes-bot';
const DOC_URL = `http://${CONFIG_DEFAULTS.host}:${CONFIG_DEFAULTS.port}${MCP_PATH}`;
/** The tools mcpConfig() grants agent `bot`: what a client of the gateway must be shown, and no more. */
const GRANTED_TOOLS = ['create_entities', 'delete_entities', 'echo', 'get-env', 'read_graph'];
const HOLD_MS = (() => { const hold = parseDuration(DEFAULT_MCP_HOLD); if (!hold.ok) throw new Error(hold.error); return hold.value; })();

/** The program `portcullis`, for checking the commands and flags the page names. */
const program = (): Command => createProgram(createCliHost(), { out: () => undefined, err: () => undefined }, () => undefined);

/** The long flags (and short ones) a command accepts, from the CLI itself. */
function flagsOf(command: Command | undefined): Set<string> {
  return new Set((command?.options ?? []).flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined));
}

/** The long flags (and short ones) `portcullis mcp` accepts. */
const mcpFlags = (): Set<string> => flagsOf(program().commands.find((c: Command) => c.name() === 'mcp'));

/** Fills a documented key placeholder with the real key, checking it is a form its client resolves. */
function fillKey(value: string, snippet: Snippet, key: string): string {
  return value
    .replace(/\$\{env:PORTCULLIS_AGENT_KEY\}/g, key)
    .replace(/\$\{input:([^}]+)\}/g, (_, id: string) => {
      expect(snippet.inputs.map((i) => i.id), `\${input:${id}} names an input the snippet declares`).toContain(id);
      return key;
    })
    .replace('<the agent\'s API key>', key);
}

/** Maps the documented config path and agent to the harness's. */
const realArgs = (args: readonly string[], config: string): string[] => args.map((a) => (a === DOC_CONFIG ? config : a === DOC_AGENT ? 'bot' : a));

let harness: Harness;
let baseUrl: string;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));
/** The environment `portcullis mcp` needs besides the agent's key: the config's own variables. */
const configEnv = (): Record<string, string> => ({ K_AGENT: harness.secrets.agent, K_OTHER: harness.secrets.other, T_DANA: harness.secrets.dana, T_TOM: harness.secrets.tom, MEM_FILE: join(memDir, 'memory.jsonl') });

/**
 * The harness's config naming its variables' file (envFile, mode 0600), as section 4 of the
 * page says: then a client launching `portcullis mcp` passes the agent's key and nothing else.
 * Its `server` is the harness's running gateway, which `portcullis mcp` bridges to.
 */
function clientConfig(): string {
  const config = join(harness.dir, 'client.yaml');
  writeFileSync(config, `envFile: ./client.env\nserver: { host: 127.0.0.1, port: ${new URL(baseUrl).port} }\n${readFileSync(join(harness.dir, 'portcullis.yaml'), 'utf8')}`);
  writeFileSync(join(harness.dir, 'client.env'), Object.entries(configEnv()).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  return config;
}

beforeAll(async () => {
  harness = await openHarness({ configYaml: mcpConfig(), env: { MEM_FILE: join(memDir, 'memory.jsonl') } });
  baseUrl = await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' });
}, 60_000);

afterAll(async () => {
  await harness?.close();
  rmSync(memDir, { recursive: true, force: true });
});

describe('docs/mcp.md client snippets', () => {
  it('has the stdio and HTTP snippets of Claude Desktop, Cursor and VS Code', () => {
    const servers = snippets.flatMap((s) => s.servers);
    expect(servers.filter((s) => s.command !== undefined)).toHaveLength(3);
    expect(servers.filter((s) => s.url !== undefined)).toHaveLength(2);
  });

  it('launches `portcullis mcp` with flags the CLI accepts, and each stdio snippet serves the agent\'s tools', async () => {
    const flags = mcpFlags();
    const config = clientConfig();
    for (const snippet of snippets) {
      for (const server of snippet.servers.filter((s) => s.command !== undefined)) {
        expect(server.command).toBe('portcullis');
        const args = server.args ?? [];
        expect(args[0]).toBe('mcp');
        for (const arg of args.filter((a) => a.startsWith('-'))) expect(flags, `flag ${arg}`).toContain(arg);
        expect(args).toContain('--agent');
        expect(Object.keys(server.env ?? {})).toEqual(['PORTCULLIS_AGENT_KEY']);
        const env = Object.fromEntries(Object.entries(server.env ?? {}).map(([k, v]) => [k, fillKey(v, snippet, harness.secrets.agent)]));
        const client = new Client({ name: 'docs-stdio', version: '1' });
        const cli = cliFromSources(realArgs(args, config));
        await client.connect(new StdioClientTransport({
          command: cli.command,
          args: cli.args,
          env: { ...env, ...cli.env }, // cli.env: what running from the sources needs, nothing of the product's
          stderr: 'pipe',
        }));
        try {
          expect((await client.listTools()).tools.map((t) => t.name)).toContain('read_graph');
        } finally {
          await client.close();
        }
      }
    }
  }, 120_000);

  it('points each HTTP snippet at /mcp with the agent\'s key as a Bearer token, and it serves the agent\'s tools', async () => {
    for (const snippet of snippets) {
      for (const server of snippet.servers.filter((s) => s.url !== undefined)) {
        expect(server.url).toBe(DOC_URL);
        if (server.type !== undefined) expect(server.type).toBe('http');
        const headers = Object.fromEntries(Object.entries(server.headers ?? {}).map(([k, v]) => [k, fillKey(v, snippet, harness.secrets.agent)]));
        expect(headers.Authorization).toBe(`Bearer ${harness.secrets.agent}`);
        const client = new Client({ name: 'docs-http', version: '1' });
        await client.connect(new StreamableHTTPClientTransport(new URL(MCP_PATH, baseUrl), { requestInit: { headers } }));
        try {
          expect((await client.listTools()).tools.map((t) => t.name)).toContain('read_graph');
        } finally {
          await client.close();
        }
      }
    }
  });
});

describe('docs/mcp.md OpenAI Agents SDK snippets', () => {
  const [tsSnippet = ''] = blocks('ts');
  const [pySnippet = ''] = blocks('python');

  /**
   * The TypeScript snippet in three parts: its imports; the MCP servers it constructs (every
   * line up to the first top-level `await`); and the rest (connect, the Agent, `run`).
   */
  function tsParts(): { servers: string; names: Map<string, string> } {
    const lines = tsSnippet.split('\n');
    const start = lines.findIndex((l) => !l.startsWith('import ') && l.trim() !== '');
    const end = lines.findIndex((l) => l.startsWith('await '));
    expect(start, 'the snippet opens with its imports').toBeGreaterThan(0);
    expect(end, 'the snippet connects with a top-level await after constructing its servers').toBeGreaterThan(start);
    const servers = lines.slice(start, end).join('\n');
    // Nothing but server constructions (and comments) at the top level of the executed part.
    for (const line of servers.split('\n').filter((l) => l.trim() !== '' && !/^\s/.test(l))) {
      expect(line, 'the executed part only constructs MCP servers').toMatch(/^(\/\/.*|const \w+ = new MCPServer(StreamableHttp|Stdio)\(\{|\}\);)$/);
    }
    const names = new Map([...servers.matchAll(/^const (\w+) = new (MCPServer\w+)\(/gm)].map((m) => [m[2] as string, m[1] as string]));
    return { servers, names };
  }

  it('type-checks against the installed @openai/agents, as written', () => {
    const base = ts.readConfigFile(fileURLToPath(new URL('../../../../tsconfig.base.json', import.meta.url)), (f) => ts.sys.readFile(f));
    const { options } = ts.convertCompilerOptionsFromJson(base.config.compilerOptions, dirname(DOC_PATH));
    const compilerOptions: ts.CompilerOptions = { ...options, noEmit: true, composite: false, declaration: false, sourceMap: false };
    // A file beside this test (never written) so that it resolves this repository's packages as an ES module.
    const file = join(dirname(fileURLToPath(import.meta.url)), 'docs-mcp-snippet.ts');
    const host = ts.createCompilerHost(compilerOptions);
    const getSourceFile = host.getSourceFile.bind(host);
    const fileExists = host.fileExists.bind(host);
    const readFile = host.readFile.bind(host);
    host.getSourceFile = (name, language, ...rest) => (name === file ? ts.createSourceFile(name, tsSnippet, language) : getSourceFile(name, language, ...rest));
    host.fileExists = (name) => name === file || fileExists(name);
    host.readFile = (name) => (name === file ? tsSnippet : readFile(name));
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], compilerOptions, host));
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  }, 60_000);

  it('constructs MCP servers that, run as written with the SDK, reach the gateway, list the granted tools and call a read tool', async () => {
    const { servers, names } = tsParts();
    expect([...names.keys()].sort()).toEqual(['MCPServerStdio', 'MCPServerStreamableHttp']);
    const config = clientConfig();
    const key = harness.secrets.agent;
    type HttpOptions = ConstructorParameters<typeof MCPServerStreamableHttp>[0];
    type StdioOptions = ConstructorParameters<typeof MCPServerStdio>[0];

    /** The SDK's HTTP server class, checking what the snippet documents, then pointed at this gateway. */
    class DocHttp extends MCPServerStreamableHttp {
      constructor(options: HttpOptions) {
        expect(options.url).toBe(DOC_URL);
        expect((options.requestInit as RequestInit).headers).toEqual({ Authorization: `Bearer ${key}` });
        expect(options.timeout, 'a call may take longer than a held call').toBeGreaterThan(HOLD_MS);
        super({ ...options, url: new URL(MCP_PATH, baseUrl).href });
      }
    }
    /** The SDK's stdio server class, checking what the snippet documents, then launching the CLI (from its sources) on this gateway's config. */
    class DocStdio extends MCPServerStdio {
      constructor(options: StdioOptions) {
        if (!('command' in options)) throw new Error('the snippet launches a command');
        expect(options.command).toBe('portcullis');
        const args = options.args ?? [];
        expect(args.slice(0, 3)).toEqual(['mcp', '--agent', DOC_AGENT]);
        for (const arg of args.filter((a) => a.startsWith('-'))) expect(mcpFlags(), `flag ${arg}`).toContain(arg);
        expect(options.env).toEqual({ PORTCULLIS_AGENT_KEY: key });
        expect(options.timeout, 'a call may take longer than a held call').toBeGreaterThan(HOLD_MS);
        const cli = cliFromSources(realArgs(args, config));
        // Started from its sources through tsx, the CLI can take longer to answer initialize on
        // a busy machine than the SDK's default session timeout (5 s).
        super({ ...options, command: cli.command, args: cli.args, env: { ...options.env, ...cli.env }, clientSessionTimeoutSeconds: options.clientSessionTimeoutSeconds ?? 30 });
      }
    }

    const js = ts.transpileModule(servers, { compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext } }).outputText.replace(/^export \{\};\s*$/m, '');
    const constructed = runInNewContext(`${js}\n({ ${[...names.values()].join(', ')} })`, {
      MCPServerStreamableHttp: DocHttp, MCPServerStdio: DocStdio, process: { env: { PORTCULLIS_AGENT_KEY: key } },
    }) as Record<string, MCPServerStreamableHttp | MCPServerStdio>;

    for (const className of ['MCPServerStreamableHttp', 'MCPServerStdio']) {
      const server = constructed[names.get(className) ?? ''];
      expect(server, className).toBeDefined();
      if (server === undefined) continue;
      expect(server.name).toBe('portcullis');
      const before = (await harness.gateway.store.listProposals({ agent: 'bot' })).filter((p) => p.action === 'memory.read_graph' && p.status === 'succeeded').length;
      await server.connect();
      try {
        expect((await server.listTools()).map((t) => t.name).sort(), className).toEqual(GRANTED_TOOLS);
        const content = await server.callTool('read_graph', {});
        expect(JSON.parse(resultText({ content }))).toMatchObject({ entities: expect.any(Array), relations: expect.any(Array) });
      } finally {
        await server.close();
      }
      // The call went through the gateway's rules: a read proposal of the agent, executed.
      const after = (await harness.gateway.store.listProposals({ agent: 'bot' })).filter((p) => p.action === 'memory.read_graph' && p.status === 'succeeded').length;
      expect(after, className).toBe(before + 1);
    }
  }, 60_000);

  it('leaves out of the executed part only what needs a model: connect, the Agent, run and close', () => {
    const rest = tsSnippet.slice(tsSnippet.indexOf('\nawait ') + 1);
    expect(rest).toMatch(/^await portcullis\.connect\(\);\n/);
    expect(rest).toContain('mcpServers: [portcullis]');
    expect(rest).toContain('await portcullis.close();');
  });

  it('gives the Python SDK the same URL and key, a session timeout above the hold time, and runs it in an event loop', () => {
    expect(pySnippet).toContain('from agents import Agent, Runner\n');
    expect(pySnippet).toContain('from agents.mcp import MCPServerStreamableHttp\n');
    expect(pySnippet).toMatch(/MCPServerStreamableHttp\(\s+name="portcullis",\s+params=\{"url": "([^"]+)",\s+"headers": \{"Authorization": f"Bearer \{os\.environ\['PORTCULLIS_AGENT_KEY'\]\}"\}\},\s+client_session_timeout_seconds=(\d+),\s+\) as portcullis:/);
    const [, url, timeout] = /"url": "([^"]+)"[\s\S]*client_session_timeout_seconds=(\d+)/.exec(pySnippet) ?? [];
    expect(url).toBe(DOC_URL);
    expect(pySnippet).toContain('client_session_timeout_seconds=60');
    expect(Number(timeout) * 1000, 'a held call fits in the session timeout').toBeGreaterThan(HOLD_MS);
    expect(pySnippet).toContain('mcp_servers=[portcullis]');
    expect(pySnippet).toContain('(await Runner.run(agent, ');
    expect(pySnippet).toContain(').final_output');
    // `async with` and `await` only inside a coroutine, which asyncio runs: the file runs as a script.
    for (const line of pySnippet.split('\n').filter((l) => /^(async |await )/.test(l))) expect(line).toMatch(/^async def /);
    expect(pySnippet).toMatch(/\nasyncio\.run\(main\(\)\)\n$/);
    expect(pySnippet).toMatch(/^import asyncio\n/);
  });
});

describe('docs/mcp.md config and commands', () => {
  it('has YAML snippets that compile with the real config loader, as one portcullis.yaml', () => {
    const yaml = blocks('yaml');
    expect(yaml).toHaveLength(2);
    // What the page leaves out: the rest of a portcullis.yaml (see config.md).
    const rest = `version: 1
store: { kind: sqlite, path: ./portcullis.db }
departments:
  ops: { name: Operations, leads: [dana] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  tom: { name: Tom, tokenEnv: T_TOM }
agents:
  notes-bot: { name: Notes bot, owner: tom, department: ops, keyEnv: K_NOTES }
`;
    const parsed = parseConfigText([rest, ...yaml].join('\n'), {
      kinds: SYSTEM_KINDS,
      source: 'docs/mcp.md (its YAML snippets after the rest of a portcullis.yaml)', baseDir: memDir,
      env: { MEMORY_FILE: join(memDir, 'memory.jsonl'), T_DANA: 'dana-token', T_TOM: 'tom-token', K_NOTES: 'notes-key' },
    });
    if (!parsed.ok) throw new Error(formatConfigErrors(parsed.errors));
    const { systems, workflows } = parsed.config;
    expect(systems.get('memory')).toMatchObject({
      kind: 'mcp', timeoutMs: 30_000,
      transport: { kind: 'stdio', command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'], env: new Map([['MEMORY_FILE_PATH', { kind: 'env', variable: 'MEMORY_FILE', value: join(memDir, 'memory.jsonl') }]]) },
    });
    expect(systems.get('tickets')).toMatchObject({
      kind: 'mcp', transport: { kind: 'http', url: 'https://tools.example.com/mcp', auth: { kind: 'bearer', token: { kind: 'vault', system: 'tickets', name: 'tickets-token' } } },
    });
    const notes = workflows.get('notes');
    expect(notes).toMatchObject({ agent: DOC_AGENT, department: 'ops', systems: ['memory'] });
    expect([...(notes?.grants.keys() ?? [])].sort()).toEqual(['memory:create_entities:update', 'memory:delete_entities:delete', 'memory:read_graph:read']);
  });

  it('names only `portcullis` commands and flags that exist', () => {
    const inline = [...doc.matchAll(/`(portcullis [^`]+)`/g)].map((m) => m[1] as string);
    const shell = blocks('sh').flatMap((b) => b.split('\n')).map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l.startsWith('portcullis '));
    const named = [...inline, ...shell];
    expect(named.length).toBeGreaterThan(5);
    for (const line of named) {
      const words = line.split(/\s+/).slice(1);
      let command = program();
      for (const word of words) {
        if (word.startsWith('-')) { expect(flagsOf(command), `${line}: ${word}`).toContain(word); continue; }
        const sub = command.commands.find((c) => c.name() === word);
        if (sub !== undefined) command = sub;
      }
      expect(command.name(), `${line} names a command`).not.toBe('portcullis');
    }
  });

  it('says people approve with the CLI or the HTTP API, which exist, and promises no other way', async () => {
    const approvals = program().commands.find((c) => c.name() === 'approvals');
    expect(approvals?.commands.map((c) => c.name()).sort()).toEqual(expect.arrayContaining(['approve', 'list', 'reject']));
    expect(flagsOf(approvals?.commands.find((c) => c.name() === 'reject'))).toContain('--reason');
    const paths = Object.keys((await harness.gateway.app.inject({ method: 'GET', url: '/openapi.json' })).json().paths as Record<string, unknown>);
    expect(paths).toEqual(expect.arrayContaining(['/v1/approvals', '/v1/approvals/{id}/approve', '/v1/approvals/{id}/reject']));
    expect(doc).toContain('`portcullis approvals approve ID`');
    expect(doc).toContain('`POST /v1/approvals/ID/approve`');
    expect(doc).toContain('`portcullis approvals list`');
    expect(doc).toContain('`GET /v1/approvals`');
    // Channels that do not exist yet are not offered as ways to approve.
    expect(doc).not.toMatch(/dashboard|slack|e-?mail/i);
  });
});
