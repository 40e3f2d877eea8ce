/**
 * "Secrets are never returned by any API, never written to logs or the audit trail, never
 * sent to agents": one gateway scenario that uses every kind of credential for real (an SMTP
 * password and an OAuth2 client secret and refresh token in the vault, an API key header and
 * MCP upstream credentials from the environment, the master key, people's and agents' keys)
 * against real servers (oidc-provider, two json-servers, smtp-server, an MCP upstream over
 * stdio and one over Streamable HTTP, both repeating their credential in everything they
 * say), through the HTTP API, the MCP gateway at /mcp and the CLI (vault set, list,
 * rotate-key; check; audit export and verify). Then everything observable is collected: every
 * API and /mcp response, every CLI output, the gateway's log at trace level, the audit trail
 * (store, API and export), the stdout and stderr of the child processes the test launched,
 * and the store's files at rest; no secret may appear in it, nor its base64, URL-encoded or
 * JSON-escaped form, nor the encoded forms a protocol sends (HTTP Basic, SMTP AUTH).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../testing/fake-clock.js';
import { harnessConfig, openHarness, type Harness } from '../testing/harness.js';
import { LEADS_OPENAPI as OPENAPI, startJsonServer, type JsonServer } from '../testing/json-server.js';
import { resultText, yamlList } from '../testing/mcp-servers.js';
import { startOidcServer, type OidcServer } from '../testing/oidc-server.js';
import { startSmtpServer, type SmtpServer } from '../testing/smtp-server.js';
import { writeNewMasterKeyFile } from './master-key.js';
import { runCli } from '../testing/run-cli.js';

const LEAKY_SERVER = fileURLToPath(new URL('../testing/fixtures/leaky-mcp-server.mjs', import.meta.url));
const ACCESS_TTL_S = 120;
const BILLING_API_KEY = `bk_${randomBytes(18).toString('base64url')}`;
const MCP_UPSTREAM_TOKEN = `mcp+stdio/${randomBytes(18).toString('hex')}`;
const MCP_REMOTE_TOKEN = `mcp_http_${randomBytes(18).toString('base64url')}`;
const LEADS = [
  { id: 1, name: 'Ada Lovelace', email: 'ada@example.com', company: 'Analytical Engines', owner_id: null, status: 'new' },
  { id: 2, name: 'Grace Hopper', email: 'grace@example.com', company: 'Navy', owner_id: null, status: 'new' },
];

let oidc: OidcServer;
let crmApi: JsonServer;
let billingApi: JsonServer;
let smtp: SmtpServer;
let remote: { url: string; output: () => string; close: () => Promise<void> };
let harness: Harness;
const clock = createFakeClock();
const secrets = new Set<string>();
const observed: Array<{ where: string; text: string }> = [];
const logs: string[] = [];

/** The leaky MCP fixture over Streamable HTTP, as a child process whose output is kept. */
async function startRemoteMcp(token: string): Promise<typeof remote> {
  const child = spawn(process.execPath, [LEAKY_SERVER, '--http'], { env: { PATH: process.env.PATH ?? '', UPSTREAM_TOKEN: token, TOOL_PREFIX: 'remote_' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`the leaky MCP fixture exited with ${code}: ${out}`)));
  });
  return {
    url, output: () => out,
    close: () => new Promise((resolve) => { if (child.exitCode !== null) resolve(); else { child.once('exit', () => resolve()); child.kill('SIGTERM'); } }),
  };
}

function scenarioConfig(): string {
  return `${harnessConfig({
    extraSystemsYaml: `  crmapi:
    kind: http
    openapi: ${OPENAPI}
    baseUrl: ${crmApi.url}
    auth:
      kind: oauth2
      grant: refresh_token
      tokenUrl: ${oidc.tokenEndpoint}
      clientId: ${oidc.clientId}
      clientSecret: { vault: client_secret }
      refreshToken: { vault: refresh_token }
    healthPath: /leads
  billing:
    kind: http
    openapi: ${OPENAPI}
    baseUrl: ${billingApi.url}
    auth: { kind: header, name: X-Api-Key, valueEnv: BILLING_API_KEY }
    healthPath: /leads
  mail:
    kind: smtp
    host: 127.0.0.1
    port: ${smtp.port}
    from: lead-router@portcullis.example
    auth: { user: ${smtp.user}, passwordEnv: { vault: smtp_password } }
  tools:
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: ${yamlList([LEAKY_SERVER])}
    env: { UPSTREAM_TOKEN: { env: MCP_UPSTREAM_TOKEN } }
    timeout: 10s
  remote:
    kind: mcp
    url: ${remote.url}
    auth: { kind: bearer, tokenEnv: MCP_REMOTE_TOKEN }
    timeout: 10s`,
    extraWorkflowYaml: `  ops:
    description: Work the leads through the CRM API, billing, mail and the ops tools
    agent: lead-router
    department: sales
    owner: tom
    runbook: Do it by hand in each system.
    grants:
      - crmapi:leads:read
      - crmapi:leads.owner_id:update
      - billing:leads:read
      - { grant: mail:email:send, explicit: true }
      - tools:whoami:read
      - tools:fail_loudly:read
      - tools:crash_loudly:read
      - remote:remote_whoami:read
      - remote:remote_fail_loudly:read`,
  })}\nvault: { keyFile: ./master.key }\n`;
}

async function cli(args: string[], stdin = ''): Promise<{ code: number; text: string }> {
  const { code, out, err } = await runCli(args, stdin);
  const text = out + err;
  observed.push({ where: `CLI portcullis ${args.join(' ')}`, text });
  return { code, text };
}

async function call(who: keyof Harness['secrets'] | undefined, options: InjectOptions) {
  const res = await harness.request(who, options);
  observed.push({ where: `API ${options.method ?? 'GET'} ${String(options.url)}`, text: `${JSON.stringify(res.headers)}\n${res.payload}` });
  return res;
}
const act = (action: string, params: unknown) => call('agent', { method: 'POST', url: '/v1/actions', payload: { workflow: 'ops', action, params, reason: 'working the leads' } });
const approve = (id: string) => call('dana', { method: 'POST', url: `/v1/approvals/${id}/approve`, payload: { reason: 'looks right' } });

/** An agent at /mcp whose every response body is kept as it streams in (the SDK client over a recording fetch). */
async function mcpAgent(baseUrl: string): Promise<Client> {
  const recording = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, init);
    const entry = { where: `MCP ${init?.method ?? 'GET'} /mcp ${res.status}`, text: `${JSON.stringify([...res.headers])}\n` };
    observed.push(entry);
    const reader = res.clone().body?.getReader();
    const decoder = new TextDecoder();
    // An event stream may stay open: keep what arrived, never wait for its end.
    void (async () => {
      for (let chunk = await reader?.read(); chunk !== undefined && !chunk.done; chunk = await reader?.read()) entry.text += decoder.decode(chunk.value, { stream: true });
    })().catch(() => undefined);
    return res;
  };
  const client = new Client({ name: 'leak-scan-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', baseUrl), { requestInit: { headers: { authorization: `Bearer ${harness.secrets.agent}` } }, fetch: recording }));
  return client;
}

beforeAll(async () => {
  [oidc, smtp, remote] = await Promise.all([startOidcServer({ accessTtlSeconds: ACCESS_TTL_S }), startSmtpServer(), startRemoteMcp(MCP_REMOTE_TOKEN)]);
  [crmApi, billingApi] = await Promise.all([
    startJsonServer({ leads: LEADS }, { introspect: { url: oidc.introspectionEndpoint, ...oidc.resourceServer, scope: 'crm.read' } }),
    startJsonServer({ leads: LEADS }, { requireToken: BILLING_API_KEY, requireHeader: 'x-api-key' }),
  ]);
  let masterKeyText = '';
  harness = await openHarness({
    clock,
    configYaml: scenarioConfig(),
    env: { BILLING_API_KEY, MCP_UPSTREAM_TOKEN, MCP_REMOTE_TOKEN },
    prepare: (dir) => {
      writeNewMasterKeyFile(join(dir, 'master.key'));
      masterKeyText = readFileSync(join(dir, 'master.key'), 'utf8').trim();
    },
    gateway: { logger: { level: 'trace', stream: { write: (line: string) => { logs.push(line); } } } },
  });
  for (const value of [
    masterKeyText, oidc.clientSecret, oidc.resourceServer.clientSecret, BILLING_API_KEY, smtp.password, MCP_UPSTREAM_TOKEN, MCP_REMOTE_TOKEN, ...Object.values(harness.secrets),
    // What the protocols put on the wire: HTTP Basic to the token endpoint, SMTP AUTH PLAIN and LOGIN.
    Buffer.from(`${oidc.clientId}:${oidc.clientSecret}`).toString('base64'), Buffer.from(`\0${smtp.user}\0${smtp.password}`).toString('base64'),
  ]) secrets.add(value);
  secrets.add(Buffer.from(masterKeyText, 'base64').toString('hex'));
}, 60_000);

afterAll(async () => {
  await harness?.close();
  await Promise.all([crmApi?.close(), billingApi?.close(), oidc?.close(), smtp?.close(), remote?.close()]);
});

describe('no secret leaves the gateway', () => {
  it('uses every kind of credential, and no secret value appears anywhere observable, in any encoding', async () => {
    // The CLI reads the same config as the gateway, and its environment.
    const env = {
      K_AGENT: harness.secrets.agent, K_OTHER: harness.secrets.other, T_DANA: harness.secrets.dana, T_DELE: harness.secrets.dele, T_FAY: harness.secrets.fay,
      T_TOM: harness.secrets.tom, T_ADA: harness.secrets.ada, BILLING_API_KEY, MCP_UPSTREAM_TOKEN, MCP_REMOTE_TOKEN,
    };
    Object.assign(process.env, env);
    const config = join(harness.dir, 'portcullis.yaml');
    try {
      expect((await cli(['vault', 'set', 'crmapi', 'client_secret', '-c', config], oidc.clientSecret)).code).toBe(0);
      expect((await cli(['vault', 'set', 'crmapi', 'refresh_token', '-c', config], `${await oidc.mintRefreshToken()}\n`)).code).toBe(0);
      expect((await cli(['vault', 'set', 'mail', 'smtp_password', '-c', config], smtp.password)).code).toBe(0);

      // The HTTP API: checks, a run, reads, a write and an email approved.
      for (const url of ['/healthz', '/readyz', '/openapi.json']) await call(undefined, { method: 'GET', url });
      await call('agent', { method: 'GET', url: '/v1/workflows' });
      const checked = await call('ada', { method: 'GET', url: '/v1/systems/check' });
      expect(checked.json()).toMatchObject({ ok: true });
      expect((await call('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'ops' } })).statusCode).toBe(201);
      expect((await act('crmapi.getLead', { path: { id: '1' } })).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[0] } });
      expect((await act('billing.getLead', { path: { id: '2' } })).json()).toMatchObject({ status: 'succeeded', result: { body: LEADS[1] } });
      const write = await act('crmapi.updateLead', { path: { id: '2' }, body: { owner_id: 'rep-amara' } });
      const mail = await act('mail.email.send', { to: ['ada@example.com'], subject: 'Welcome', text: 'Hello Ada' });
      await call('dana', { method: 'GET', url: '/v1/approvals' });
      expect((await approve(write.json().id as string)).json().status).toBe('succeeded');
      expect((await approve(mail.json().id as string)).json().status).toBe('succeeded');
      await smtp.waitForMessages(1);
      clock.advance(ACCESS_TTL_S * 1000);
      expect((await act('crmapi.listLeads', {})).json().status).toBe('succeeded');

      // The MCP gateway: tools whose upstreams repeat their credential in all they say.
      const agent = await mcpAgent(await harness.gateway.app.listen({ port: 0, host: '127.0.0.1' }));
      const names = (await agent.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['whoami', 'fail_loudly', 'crash_loudly', 'remote_whoami', 'remote_fail_loudly']));
      const said: string[] = [];
      for (const name of ['whoami', 'fail_loudly', 'crash_loudly', 'remote_whoami', 'remote_fail_loudly']) said.push(resultText(await agent.callTool({ name, arguments: {} })));
      expect(said.join('\n')).toMatch(/started with token=\[redacted\][^]*refused token \[redacted\][^]*last output on stderr: leaky fixture: the API refused token \[redacted\][^]*started with token=\[redacted\]/);
      await agent.close();

      // The refresh token is revoked: the action, the check and a run say a person must re-authorise.
      await oidc.revoke(await harness.gateway.vault.get('crmapi', 'refresh_token'), 'refresh_token');
      expect((await act('crmapi.getLead', { path: { id: '1' } })).json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED' } });
      expect((await call('ada', { method: 'GET', url: '/v1/systems/check' })).json()).toMatchObject({ ok: false });
      expect((await call('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'ops' } })).statusCode).toBe(503);
      await call('agent', { method: 'POST', url: '/v1/actions', headers: { 'content-type': 'application/json' }, payload: '{"workflow": ' });

      // The operator's view, then a master key rotation, after which the gateway's old key opens nothing.
      await cli(['vault', 'list', '-c', config]);
      await cli(['vault', 'list', '-c', config, '--json']);
      await cli(['check', '-c', config]);
      const exported = join(harness.dir, 'audit.jsonl');
      await cli(['audit', 'export', '--db', harness.storePath, '--out', exported]);
      await cli(['audit', 'verify', '--db', harness.storePath]);
      await cli(['vault', 'new-key', '--out', join(harness.dir, 'next.key')]);
      const nextKey = readFileSync(join(harness.dir, 'next.key'), 'utf8').trim();
      secrets.add(nextKey);
      secrets.add(Buffer.from(nextKey, 'base64').toString('hex'));
      expect((await cli(['vault', 'rotate-key', '--new-key-file', join(harness.dir, 'next.key'), '-c', config])).text).toContain('re-sealed 3 secret(s)');
      expect((await act('billing.getLead', { path: { id: '1' } })).json().status).toBe('succeeded');
      const again = await act('mail.email.send', { to: ['ada@example.com'], subject: 'Again', text: 'Hello again' });
      expect((await approve(again.json().id as string)).json()).toMatchObject({ status: 'failed', error: { code: 'SECRET_UNAVAILABLE' } });
      await call('ada', { method: 'GET', url: '/v1/systems/check' });
      await call('ada', { method: 'GET', url: '/v1/audit?limit=1000' });
      await call('ada', { method: 'GET', url: '/v1/audit/verify' });
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
    }

    for (const { token } of await oidc.issued()) secrets.add(token);
    observed.push({ where: 'audit export file', text: readFileSync(join(harness.dir, 'audit.jsonl'), 'utf8') });
    observed.push({ where: 'audit trail (store)', text: JSON.stringify(await harness.gateway.store.queryAudit({ limit: 100_000 })) });
    observed.push({ where: 'gateway log', text: logs.join('') });
    observed.push({ where: 'OAuth2 server stderr', text: oidc.stderr() });
    observed.push({ where: 'CRM API (json-server) output', text: crmApi.output() });
    observed.push({ where: 'billing API (json-server) output', text: billingApi.output() });
    observed.push({ where: 'SMTP server output (messages)', text: JSON.stringify(smtp.messages()) });
    observed.push({ where: 'remote MCP server output', text: remote.output() });
    for (const file of ['portcullis.db', 'portcullis.db-wal']) {
      try { observed.push({ where: `store file ${file}`, text: readFileSync(join(harness.dir, file)).toString('latin1') }); } catch { /* no WAL file */ }
    }

    // The scenario really used every credential, and the scan really looks.
    const issued = await oidc.issued();
    expect(issued.filter((t) => t.kind === 'access_token').length).toBeGreaterThanOrEqual(2);
    expect(issued.filter((t) => t.kind === 'refresh_token').length).toBeGreaterThanOrEqual(3);
    expect(crmApi.output()).toMatch(/accepted client=/);
    expect(billingApi.output()).toMatch(/GET \/leads\/2/);
    expect(smtp.messages()[0]?.user).toBe(smtp.user);
    expect(logs.length).toBeGreaterThan(10);
    expect(observed.filter((o) => o.where.startsWith('MCP POST')).map((o) => o.text).join('\n')).toContain('started with token=[redacted]');
    const all = observed.map((o) => o.text).join('\n');
    for (const marker of ['vault.secret_set', 'run.started', 'run.refused', 'execution.failed', 're-authorise', 'smtp_password', '[redacted]', 're-sealed', 'SECRET_UNAVAILABLE']) expect(all).toContain(marker);
    const planted = findLeaks([...observed, { where: 'planted', text: `x${Buffer.from(BILLING_API_KEY).toString('base64')}x` }]);
    expect(planted).toContain(`planted: ${BILLING_API_KEY.slice(0, 4)}… (base64)`);
    expect(planted.every((leak) => leak.startsWith('planted: '))).toBe(true);

    expect(findLeaks(observed)).toEqual([]);
  }, 60_000);
});

/** The forms a secret may travel in, by name. */
function formsOf(secret: string): Array<[string, string]> {
  const bytes = Buffer.from(secret, 'utf8');
  return [['as is', secret], ['base64', bytes.toString('base64')], ['base64url', bytes.toString('base64url')], ['URL-encoded', encodeURIComponent(secret)], ['JSON-escaped', JSON.stringify(secret).slice(1, -1)]];
}

/** Where any secret in any form (or its first 16 characters) appears: `where: abcd… (form)`, never the whole secret. */
function findLeaks(corpus: ReadonlyArray<{ where: string; text: string }>): string[] {
  const leaks = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    for (const [form, value] of formsOf(secret)) {
      const probe = value.length > 16 ? value.slice(0, 16) : value;
      for (const { where, text } of corpus) if (text.includes(probe)) leaks.add(`${where}: ${secret.slice(0, 4)}…${form === 'as is' ? '' : ` (${form})`}`);
    }
  }
  return [...leaks];
}
