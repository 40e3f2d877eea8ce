/**
 * Installed like a product: the README's PATH step (`npm install -g .` from the clone), here
 * into a throwaway prefix, offline, makes `portcullis` a command; then a new user's path:
 * `portcullis init --kind sql`, `portcullis validate`, `portcullis start`, and an MCP client
 * launched with the Claude Desktop snippet of docs/mcp.md (by command name, with only the
 * snippet's env block and the client's PATH) reaches the gateway.
 *
 * Unlike the other CLI tests, this one runs the build (bin/portcullis.js runs dist/, as
 * users do): it brings the repository's build up to date first (`tsc -b`, incremental).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../testing/json-server.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

let prefix: TempDir;
let work: TempDir;
let env: NodeJS.ProcessEnv;
let gateway: ChildProcess | undefined;

beforeAll(async () => {
  await run(process.execPath, [TSC, '-b', 'packages/core', 'packages/server'], { cwd: REPO });
  prefix = makeTempDir('portcullis-prefix');
  work = makeTempDir('portcullis-user');
  // The README's PATH step, into a throwaway prefix: no network, no install scripts.
  await run('npm', ['install', '-g', '--prefix', prefix.path, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', REPO], { cwd: work.path });
  // A user's PATH: the prefix's bin, and none of the node_modules/.bin folders npx and vitest add.
  const userPath = (process.env.PATH ?? '').split(delimiter).filter((dir) => !dir.includes('node_modules'));
  env = { ...process.env, PATH: [join(prefix.path, 'bin'), ...userPath].join(delimiter) };
}, 300_000);

afterAll(async () => {
  if (gateway !== undefined && gateway.exitCode === null) {
    const exited = new Promise((resolve) => gateway?.once('exit', resolve));
    gateway.kill('SIGTERM');
    await exited;
  }
  prefix?.cleanup();
  work?.cleanup();
});

/** Runs `portcullis ARGS…` as a user would, by name from the PATH. */
const portcullis = (...args: string[]) => run('portcullis', args, { cwd: work.path, env });

describe('portcullis on the PATH', () => {
  it('is a command after the PATH step', async () => {
    expect(existsSync(join(prefix.path, 'bin', 'portcullis')), 'npm linked the command into the prefix').toBe(true);
    const { stdout } = await portcullis('--version');
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('takes a new user from init to an MCP client reaching the gateway', async () => {
    const init = await portcullis('init', '--kind', 'sql');
    const key = /agent key .*:\s+(\S+)/.exec(init.stdout)?.[1] ?? '';
    expect(key).toMatch(/^agent_/);
    const db = new Database(join(work.path, 'app.db'));
    db.exec('CREATE TABLE tickets (id INTEGER PRIMARY KEY, title TEXT, status TEXT, assignee TEXT, created_at TEXT)');
    db.close();
    expect((await portcullis('validate', 'portcullis.yaml')).stdout).toMatch(/portcullis\.yaml is valid/);

    const port = await freePort();
    // `portcullis mcp` bridges to the gateway at the config's server address: the port this test gateway listens on.
    const configPath = join(work.path, 'portcullis.yaml');
    writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(/^ {2}port: 7300$/m, `  port: ${port}`));
    gateway = spawn('portcullis', ['start', '-c', 'portcullis.yaml', '-p', String(port)], { cwd: work.path, env, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let said = '';
      gateway?.stderr?.on('data', (chunk: Buffer) => { said += chunk.toString(); if (said.includes('gateway listening on')) resolve(); });
      gateway?.once('exit', (code) => reject(new Error(`start exited with ${code}: ${said}`)));
    });

    // The Claude Desktop snippet of docs/mcp.md, its placeholders filled in.
    const docs = readFileSync(join(REPO, 'docs', 'mcp.md'), 'utf8');
    const snippet = /### Claude Desktop[\s\S]*?```json\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';
    const server = (JSON.parse(snippet) as { mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }> }).mcpServers.portcullis;
    expect(server?.command).toBe('portcullis');
    const args = (server?.args ?? []).map((a) => (a === 'notes-bot' ? 'assistant' : a === '/etc/portcullis/portcullis.yaml' ? join(work.path, 'portcullis.yaml') : a));
    const clientEnv = Object.fromEntries(Object.entries(server?.env ?? {}).map(([k, v]) => [k, v.replace('<the agent\'s API key>', key)]));
    const client = new Client({ name: 'desktop', version: '1' });
    // The client's own PATH holds the command; the snippet's env block, nothing else.
    await client.connect(new StdioClientTransport({ command: server?.command ?? '', args, env: { ...clientEnv, PATH: env.PATH ?? '' }, cwd: prefix.path, stderr: 'pipe' }));
    try {
      expect(client.getServerVersion()?.name).toBe('portcullis');
      // Every granted action is a tool: the starter's SQL read, and its status-only update.
      const tools = (await client.listTools()).tools;
      expect(tools.map((t) => t.name).sort()).toEqual(['app__tickets__read', 'app__tickets__update']);
      const set = (tools.find((t) => t.name === 'app__tickets__update')?.inputSchema.properties as Record<string, { properties?: object }>).set;
      expect(Object.keys(set?.properties ?? {})).toEqual(['status']);
    } finally {
      await client.close();
    }
  }, 120_000);
});
