/**
 * `portcullis check` in-process (the real CLI `run`) on one system of every kind, each a real
 * server: the sample SQLite CRM, json-server behind the HTTP connector, the SMTP fixture, and
 * the reference memory server from npm behind the MCP connector. The HTTP token and the SMTP
 * password live in the vault, so the check proves the gateway's own credentials. Every system
 * passing is a table of `ok` rows and exit 0; any one failing is its `FAILED` row with the
 * reason (the others still `ok`) and exit 1; no credential is ever printed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSampleCrm } from '../demo/sample-crm.js';
import { LEADS_OPENAPI as OPENAPI, freePort, startJsonServer, type JsonServer } from '../testing/json-server.js';
import { serverEntry, yamlList } from '../testing/mcp-servers.js';
import { startSmtpServer, type SmtpServer } from '../testing/smtp-server.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';
import { runCli } from '../testing/run-cli.js';

const API_TOKEN = `crm_token_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const MEMORY = serverEntry('@modelcontextprotocol/server-memory');
/** The memory server lists these nine tools. */
const MEMORY_TOOLS = 9;

let dir: TempDir;
let api: JsonServer;
let mail: SmtpServer;

/** What can differ between the configs of the tests. */
interface Systems { apiUrl?: string; smtpPort?: number; mcpCommand?: { command: string; args: string[] } }

function writeConfig(systems: Systems = {}): string {
  const mcp = systems.mcpCommand ?? { command: process.execPath, args: [MEMORY] };
  const file = join(dir.path, 'portcullis.yaml');
  writeFileSync(file, `version: 1
store: { kind: sqlite, path: ./portcullis.db }
vault: { keyFile: ./master.key }
systems:
  crm:
    kind: sql
    driver: sqlite
    path: ./crm.db
    tables:
      leads: { columns: [id, name, owner_id] }
  api:
    kind: http
    openapi: ${JSON.stringify(OPENAPI)}
    baseUrl: ${systems.apiUrl ?? api.url}
    auth: { kind: bearer, tokenEnv: { vault: token } }
    healthPath: /leads
    timeout: 5s
  mail:
    kind: smtp
    host: 127.0.0.1
    port: ${systems.smtpPort ?? mail.port}
    from: gateway@example.com
    auth: { user: ${mail.user}, passwordEnv: { vault: password } }
    timeout: 5s
  memory:
    kind: mcp
    command: ${JSON.stringify(mcp.command)}
    args: ${yamlList(mcp.args)}
    env: { MEMORY_FILE_PATH: { env: MEM_FILE } }
    timeout: 10s
`);
  return file;
}

const cli = runCli;

/** The table's row of `system`. */
const row = (out: string, system: string): string => out.split('\n').find((line) => line.startsWith(`${system} `)) ?? `(no row for ${system})`;

/** Stores a system's credential in the vault, as an operator would. */
async function vaultSet(config: string, system: string, name: string, value: string): Promise<void> {
  expect(await cli(['vault', 'set', system, name, '-c', config], value)).toMatchObject({ code: 0 });
}

beforeAll(async () => {
  dir = makeTempDir('portcullis-cli-check');
  createSampleCrm(join(dir.path, 'crm.db'), Date.now());
  [api, mail] = await Promise.all([startJsonServer({ leads: [{ id: 1, name: 'Ada Lovelace', owner_id: null }] }, { requireToken: API_TOKEN }), startSmtpServer()]);
  expect((await cli(['vault', 'new-key', '--out', join(dir.path, 'master.key')])).code).toBe(0);
  vi.stubEnv('MEM_FILE', join(dir.path, 'memory.jsonl'));
  const config = writeConfig();
  await vaultSet(config, 'api', 'token', API_TOKEN);
  await vaultSet(config, 'mail', 'password', mail.password);
  vi.unstubAllEnvs();
}, 60_000);

afterAll(async () => {
  await Promise.all([api?.close(), mail?.close()]);
  dir?.cleanup();
});

// The memory server's file is named by the environment, as `env: { MEMORY_FILE_PATH: { env: MEM_FILE } }` says.
beforeEach(() => { vi.stubEnv('MEM_FILE', join(dir.path, 'memory.jsonl')); });
afterEach(() => { vi.unstubAllEnvs(); });

describe('portcullis check on a SQL, an HTTP, an SMTP and an MCP system', () => {
  it('lists every system as ok with what it verified, and exits 0, when all pass', async () => {
    const config = writeConfig();
    const result = await cli(['check', '-c', config]);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const lines = result.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SYSTEM\s+KIND\s+STATUS\s+TIME\s+DETAIL$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(' '))).toEqual([
      '(vault) vault ok', 'crm sql ok', 'api http ok', 'mail smtp ok', 'memory mcp ok', 'all 5 system(s)',
    ]);
    expect(row(result.out, 'crm')).toMatch(/ok\s+\d+ ms\s+1 table\(s\) readable, each keyed by a unique column$/);
    expect(row(result.out, 'api')).toMatch(new RegExp(`ok\\s+\\d+ ms\\s+GET ${api.url}/leads answered 200; \\d+ operation\\(s\\)`));
    expect(row(result.out, 'mail')).toMatch(new RegExp(`ok\\s+\\d+ ms\\s+127\\.0\\.0\\.1:${mail.port} accepted the login of ${mail.user}$`));
    expect(row(result.out, 'memory')).toMatch(new RegExp(`ok\\s+\\d+ ms\\s+.*server-memory.* lists ${MEMORY_TOOLS} usable tool\\(s\\)$`));
    expect(lines.at(-1)).toBe('all 5 system(s) OK');
    for (const secret of [API_TOKEN, mail.password]) expect(result.out).not.toContain(secret);

    const json = JSON.parse((await cli(['check', '-c', config, '--json'])).out) as { ok: boolean; systems: { system: string; kind: string; ok: boolean }[] };
    expect(json.ok).toBe(true);
    expect(json.systems.map((s) => [s.system, s.kind, s.ok])).toEqual([
      ['(vault)', 'vault', true], ['crm', 'sql', true], ['api', 'http', true], ['mail', 'smtp', true], ['memory', 'mcp', true],
    ]);
  });

  /** Runs the check and expects exactly `system` to fail, with `reason`, and exit 1. */
  async function expectOnlyFailing(config: string, system: string, reason: RegExp): Promise<string> {
    const result = await cli(['check', '-c', config]);
    expect(result.code).toBe(1);
    expect(row(result.out, system)).toMatch(new RegExp(`^${system}\\s+\\w+\\s+FAILED\\s+\\d+ ms\\s+`));
    expect(row(result.out, system)).toMatch(reason);
    for (const other of ['crm', 'api', 'mail', 'memory'].filter((s) => s !== system)) expect(row(result.out, other)).toMatch(new RegExp(`^${other}\\s+\\w+\\s+ok\\s+`));
    expect(result.out.trimEnd().split('\n').at(-1)).toBe('1 of 5 system(s) FAILED');
    const json = JSON.parse((await cli(['check', '-c', config, '--json'])).out) as { ok: boolean; systems: { system: string; ok: boolean; detail: string }[] };
    expect(json.ok).toBe(false);
    expect(json.systems.filter((s) => !s.ok).map((s) => s.system)).toEqual([system]);
    return result.out;
  }

  it('fails the SMTP row when the server refuses the stored password, and when nothing listens', async () => {
    const config = writeConfig();
    const wrong = `${mail.password}_rotated`;
    await vaultSet(config, 'mail', 'password', wrong);
    try {
      const out = await expectOnlyFailing(config, 'mail', new RegExp(`system "mail": connecting via 127\\.0\\.0\\.1:${mail.port} failed: Invalid login: 535`));
      expect(out).not.toContain(wrong);
    } finally {
      await vaultSet(config, 'mail', 'password', mail.password);
    }
    const port = await freePort();
    await expectOnlyFailing(writeConfig({ smtpPort: port }), 'mail', new RegExp(`system "mail": connecting via 127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED`));
  });

  it('fails the HTTP row when nothing listens at the base URL, and when the API refuses the stored token', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    await expectOnlyFailing(writeConfig({ apiUrl: down }), 'api', new RegExp(`${down.replace(/\./g, '\\.')}/leads.*(ECONNREFUSED|refused|fetch failed)`));
    const config = writeConfig();
    await vaultSet(config, 'api', 'token', 'a-revoked-token');
    try {
      await expectOnlyFailing(config, 'api', new RegExp(`GET ${api.url}/leads answered 401: the gateway's credentials were refused`));
    } finally {
      await vaultSet(config, 'api', 'token', API_TOKEN);
    }
  });

  it('fails the MCP row when the upstream command exits, with what it said on stderr', async () => {
    const exits = { command: process.execPath, args: ['-e', 'console.error("memory store is locked"); process.exit(3)'] };
    await expectOnlyFailing(writeConfig({ mcpCommand: exits }), 'memory', /MCP system "memory" failed while connecting: it stopped or could not be reached .*memory store is locked/);
  });

  it('refuses to check at all when the MCP system\'s environment is not set (an invalid config, exit 1)', async () => {
    vi.stubEnv('MEM_FILE', undefined);
    const result = await cli(['check', '-c', writeConfig()]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/systems\.memory\.env\.MEMORY_FILE_PATH.*environment variable MEM_FILE is not set/);
  });
});
