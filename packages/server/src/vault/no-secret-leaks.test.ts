/**
 * "Secrets are never returned by any API, never written to logs or the audit trail, never
 * sent to agents": a whole gateway scenario with real credentials (a vault on the real SQLite
 * store, a real OAuth2 server from npm, the CLI), then a scan of everything observable (every
 * API response, every audit event, the gateway's log at trace level, every CLI output, the
 * audit export, and the store's files at rest) for every secret value. Any hit fails.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../cli/main.js';
import type { Output } from '../cli/output.js';
import type { SqlSystemConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import { createSqliteConnector } from '../connectors/sql/sqlite-connector.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { harnessConfig, openHarness, type Harness } from '../testing/harness.js';
import { startOidcServer, type OidcServer } from '../testing/oidc-server.js';
import { writeNewMasterKeyFile } from './master-key.js';
import { createOAuth2TokenSource } from './oauth2.js';
import { resolveSystemSecret } from './resolve-secret.js';

const API_KEY = `crm_api_${randomBytes(18).toString('base64url')}`;
const ACCESS_TTL_S = 120;

let server: OidcServer;
let harness: Harness;
const clock = createFakeClock();
const secrets = new Set<string>();
const observed: Array<{ where: string; text: string }> = [];
const logs: string[] = [];
const tokensSeen = { access: 0, refresh: 0 };

/** Records the tokens the authorisation server hands out, so the scan looks for each one. */
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const body = (await response.clone().json().catch(() => ({}))) as { access_token?: string; refresh_token?: string };
  if (body.access_token !== undefined) { secrets.add(body.access_token); tokensSeen.access += 1; }
  if (body.refresh_token !== undefined) { secrets.add(body.refresh_token); tokensSeen.refresh += 1; }
  return response;
};

async function cli(args: string[], stdin = ''): Promise<number> {
  let text = '';
  const output: Output = { out: (t) => { text += `${t}\n`; }, err: (t) => { text += `${t}\n`; } };
  const code = await run(['node', 'portcullis', ...args], output, Readable.from([Buffer.from(stdin)]));
  observed.push({ where: `CLI portcullis ${args.join(' ')}`, text });
  return code;
}

async function call(who: keyof Harness['secrets'] | undefined, options: InjectOptions) {
  const res = await harness.request(who, options);
  observed.push({ where: `API ${options.method ?? 'GET'} ${String(options.url)}`, text: `${JSON.stringify(res.headers)}\n${res.payload}` });
  return res;
}

beforeAll(async () => {
  server = await startOidcServer({ accessTtlSeconds: ACCESS_TTL_S });
  let masterKeyText = '';
  harness = await openHarness({
    clock,
    configYaml: `${harnessConfig()}\nvault: { keyFile: ./master.key }\n`,
    prepare: (dir) => {
      writeNewMasterKeyFile(join(dir, 'master.key'));
      masterKeyText = readFileSync(join(dir, 'master.key'), 'utf8').trim();
    },
    gateway: {
      // The CRM behind an OAuth2-protected API, as an HTTP connector would use it: every check
      // and execution first gets an access token (refresh-token grant, credentials from the
      // vault) and reads its API key from the vault.
      logger: { level: 'trace', stream: { write: (line: string) => { logs.push(line); } } },
      connect: (config, deps) => {
        const tokens = createOAuth2TokenSource({
          system: 'crm', vault: deps.vault, clock: deps.clock ?? clock, fetch: recordingFetch,
          config: {
            grant: 'refresh_token', tokenUrl: server.tokenEndpoint, clientId: server.clientId, clientAuth: 'basic', scopes: [], refreshBeforeMs: 60_000,
            clientSecret: { kind: 'vault', system: 'crm', name: 'client_secret' }, refreshToken: { kind: 'vault', system: 'crm', name: 'refresh_token' },
          },
        });
        const credentials = async (): Promise<void> => {
          await tokens.getAccessToken();
          await resolveSystemSecret({ kind: 'vault', system: 'crm', name: 'api_key' }, deps.vault);
        };
        const inner = createSqliteConnector(config.systems.get('crm') as SqlSystemConfig);
        const crm: Connector = {
          ...inner,
          async check() {
            try { await credentials(); } catch (error) { return { ok: false, error: (error as Error).message }; }
            const result = await inner.check();
            return result.ok ? { ok: true, detail: `access token obtained; ${result.detail}` } : result;
          },
          async execute(spec, params, context) {
            await credentials();
            return inner.execute(spec, params, context);
          },
        };
        return new Map([['crm', crm]]);
      },
    },
  });
  secrets.add(masterKeyText);
  secrets.add(Buffer.from(masterKeyText, 'base64').toString('base64url'));
  secrets.add(Buffer.from(masterKeyText, 'base64').toString('hex'));
  secrets.add(server.clientSecret);
  secrets.add(API_KEY);
  for (const value of Object.values(harness.secrets)) secrets.add(value);
});

afterAll(async () => {
  await harness?.close();
  await server?.close();
});

describe('no secret leaves the gateway', () => {
  it('runs a whole scenario with credentials, and no secret value appears anywhere observable', async () => {
    // The CLI reads the same config as the gateway; people's and agents' keys come from the environment.
    const env = { K_AGENT: harness.secrets.agent, K_OTHER: harness.secrets.other, T_DANA: harness.secrets.dana, T_DELE: harness.secrets.dele, T_FAY: harness.secrets.fay, T_TOM: harness.secrets.tom, T_ADA: harness.secrets.ada };
    Object.assign(process.env, env);
    const config = join(harness.dir, 'portcullis.yaml');
    const firstRefresh = await server.mintRefreshToken();
    secrets.add(firstRefresh);
    expect(await cli(['vault', 'set', 'crm', 'client_secret', '-c', config], server.clientSecret)).toBe(0);
    expect(await cli(['vault', 'set', 'crm', 'refresh_token', '-c', config], `${firstRefresh}\n`)).toBe(0);
    expect(await cli(['vault', 'set', 'crm', 'api_key', '-c', config], API_KEY)).toBe(0);

    // People and the agent use the API: checks, a run, a write approved, a read.
    for (const url of ['/healthz', '/readyz', '/openapi.json']) await call(undefined, { method: 'GET', url });
    await call('agent', { method: 'GET', url: '/v1/workflows' });
    expect((await call('ada', { method: 'GET', url: '/v1/systems/check' })).json()).toMatchObject({ ok: true });
    const started = await call('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } });
    expect(started.statusCode).toBe(201);
    const runId = started.json().runId as string;
    const write = await call('agent', { method: 'POST', url: '/v1/actions', payload: { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } }, runId } });
    await call('dana', { method: 'GET', url: '/v1/approvals' });
    const approved = await call('dana', { method: 'POST', url: `/v1/approvals/${write.json().id as string}/approve`, payload: { reason: 'EMEA lead' } });
    expect(approved.json().status).toBe('succeeded');
    clock.advance(ACCESS_TTL_S * 1000);
    const read = await call('agent', { method: 'POST', url: '/v1/actions', payload: { workflow: 'route-leads', action: 'crm.leads.read', params: {}, runId } });
    expect(read.json().status).toBe('succeeded');
    await call('agent', { method: 'GET', url: `/v1/actions/${read.json().id as string}` });

    // The refresh token is revoked: checks, runs and actions fail, saying a person must re-authorise.
    await server.revoke(await harness.gateway.vault.get('crm', 'refresh_token'), 'refresh_token');
    clock.advance(ACCESS_TTL_S * 1000);
    const check = (await call('dana', { method: 'GET', url: '/v1/systems/check' })).json() as { ok: boolean; systems: Array<{ detail: string }> };
    expect(check.ok).toBe(false);
    expect(check.systems[0]?.detail).toContain('A person must re-authorise Portcullis for "crm"');
    expect((await call('agent', { method: 'POST', url: '/v1/runs', payload: { workflow: 'route-leads' } })).statusCode).toBe(503);
    const failed = await call('agent', { method: 'POST', url: '/v1/actions', payload: { workflow: 'route-leads', action: 'crm.leads.read', params: {} } });
    expect(failed.json()).toMatchObject({ status: 'failed', error: { code: 'UPSTREAM_FAILED' } });
    await call('agent', { method: 'POST', url: '/v1/actions', headers: { 'content-type': 'application/json' }, payload: '{"workflow": ' });
    await call('ada', { method: 'GET', url: '/v1/audit?limit=1000' });
    await call('ada', { method: 'GET', url: '/v1/audit/verify' });

    // The operator's view: vault listing, pre-flight, the audit export and verification.
    await cli(['vault', 'list', '-c', config]);
    await cli(['vault', 'list', '-c', config, '--json']);
    await cli(['check', '-c', config]);
    const exported = join(harness.dir, 'audit.jsonl');
    await cli(['audit', 'export', '--db', harness.storePath, '--out', exported]);
    await cli(['audit', 'verify', '--db', harness.storePath]);
    for (const key of Object.keys(env)) delete process.env[key];

    observed.push({ where: 'audit export file', text: readFileSync(exported, 'utf8') });
    observed.push({ where: 'audit trail (store)', text: JSON.stringify(await harness.gateway.store.queryAudit({ limit: 100_000 })) });
    observed.push({ where: 'gateway log', text: logs.join('') });
    for (const file of ['portcullis.db', 'portcullis.db-wal']) {
      try { observed.push({ where: `store file ${file}`, text: readFileSync(join(harness.dir, file)).toString('latin1') }); } catch { /* no WAL file */ }
    }

    // The scenario really exercised the credentials, and the scan really looks.
    expect(tokensSeen.access).toBeGreaterThanOrEqual(2);
    expect(tokensSeen.refresh).toBeGreaterThanOrEqual(2);
    expect(logs.length).toBeGreaterThan(10);
    const all = observed.map((o) => o.text).join('\n');
    for (const marker of ['vault.secret_set', 'refresh_token', 'run.started', 'run.refused', 'execution.failed', 're-authorise', 'client_secret']) expect(all).toContain(marker);
    expect(findLeaks([...observed, { where: 'planted', text: `x${API_KEY}x` }])).toEqual([`planted: ${API_KEY.slice(0, 4)}…`]);

    expect(findLeaks(observed)).toEqual([]);
  });
});

/** Where any secret (or its first 16 characters) appears: `where: abcd…`, never the whole secret. */
function findLeaks(corpus: ReadonlyArray<{ where: string; text: string }>): string[] {
  const leaks: string[] = [];
  for (const secret of secrets) {
    if (secret.length < 8) continue;
    const probe = secret.length > 16 ? secret.slice(0, 16) : secret;
    for (const { where, text } of corpus) if (text.includes(probe)) leaks.push(`${where}: ${secret.slice(0, 4)}…`);
  }
  return leaks;
}
