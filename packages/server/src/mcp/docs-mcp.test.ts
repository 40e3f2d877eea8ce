/**
 * docs/mcp.md's client snippets are exact: every JSON snippet names the real command, flags
 * and URL, and is exercised as its client would use it (the stdio ones launch the built CLI,
 * the HTTP ones connect to /mcp), with the documented placeholders filled in. The OpenAI
 * Agents SDK snippets are checked for the same command, flags and URL.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../cli/main.js';
import { CONFIG_DEFAULTS } from '../config/schema.js';
import { openHarness, type Harness } from '../testing/harness.js';
import { CLI_BIN, mcpConfig } from '../testing/mcp-servers.js';
import { MCP_PATH } from './http-route.js';

const doc = readFileSync(fileURLToPath(new URL('../../../../docs/mcp.md', import.meta.url)), 'utf8');
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

/** The long flags (and short ones) `portcullis mcp` accepts, from the CLI itself. */
function mcpFlags(): Set<string> {
  const mcp = createProgram({ out: () => undefined, err: () => undefined }, () => undefined).commands.find((c: Command) => c.name() === 'mcp');
  return new Set((mcp?.options ?? []).flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined));
}

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

let harness: Harness;
let baseUrl: string;
const memDir = mkdtempSync(join(tmpdir(), 'portcullis-memory-'));

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
    const config = join(harness.dir, 'portcullis.yaml');
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
        await client.connect(new StdioClientTransport({
          command: process.execPath,
          args: [CLI_BIN, ...args.map((a) => (a === DOC_CONFIG ? config : a === DOC_AGENT ? 'bot' : a))],
          env: { ...env, K_AGENT: harness.secrets.agent, K_OTHER: harness.secrets.other, T_DANA: harness.secrets.dana, T_TOM: harness.secrets.tom, MEM_FILE: join(memDir, 'memory.jsonl') },
          stderr: 'pipe',
        }));
        try {
          expect((await client.listTools()).tools.map((t) => t.name)).toContain('read_graph');
        } finally {
          await client.close();
        }
      }
    }
  });

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

  it('gives the OpenAI Agents SDK the same URL, command and flags', () => {
    const [ts] = blocks('ts');
    const [py] = blocks('python');
    expect(ts).toContain(`url: '${DOC_URL}'`);
    expect(ts).toContain('Authorization: `Bearer ${process.env.PORTCULLIS_AGENT_KEY}`');
    expect(ts).toContain('command: \'portcullis\'');
    const args = JSON.parse((/args: (\[[^\]]*\])/.exec(ts ?? '')?.[1] ?? '[]').replace(/'/g, '"')) as string[];
    expect(args.slice(0, 3)).toEqual(['mcp', '--agent', DOC_AGENT]);
    const flags = mcpFlags();
    for (const arg of args.filter((a) => a.startsWith('-'))) expect(flags).toContain(arg);
    expect(py).toContain(`"url": "${DOC_URL}"`);
    expect(py).toContain('client_session_timeout_seconds=60');
  });
});
