/**
 * Starts a real REST server for the HTTP connector's tests: json-server 0.17 from npm (the
 * release that runs on Node 20), as a child process on a free port of 127.0.0.1, serving a
 * db.json written to a temporary folder. It can demand a fixed bearer token or header value
 * (fixtures/json-server-require-token.cjs), or act as an OAuth2 resource server that checks
 * each bearer token at an authorisation server's introspection endpoint
 * (fixtures/json-server-introspect.cjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { harnessConfig } from './harness.js';
import { makeTempDir } from './temp-dir.js';

/** A running json-server. */
export interface JsonServer {
  /** Its base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** GETs a path straight from the server (as the system of record sees it; with `introspect`, only /db answers). */
  get(path: string): Promise<{ status: number; body: unknown }>;
  /** Everything the server wrote to its output. */
  output(): string;
  /** Resolves once the server's output contains `text` (at once if it does already). */
  waitForOutput(text: string): Promise<void>;
  /** Stops the server (it stays stopped: its port is then closed) and removes its folder. */
  close(): Promise<void>;
}

const BIN = join(dirname(createRequire(import.meta.url).resolve('json-server/package.json')), 'lib', 'cli', 'bin.js');
const REQUIRE_TOKEN = fileURLToPath(new URL('./fixtures/json-server-require-token.cjs', import.meta.url));
const INTROSPECT = fileURLToPath(new URL('./fixtures/json-server-introspect.cjs', import.meta.url));

/** How a json-server checks who calls it. */
export interface JsonServerOptions {
  /** Every request but GET /db must carry this token (as `Authorization: Bearer`, or in `requireHeader`). */
  readonly requireToken?: string;
  /** The header that must carry `requireToken`, e.g. x-api-key; default Authorization: Bearer. */
  readonly requireHeader?: string;
  /** Every request but GET /db must carry a bearer token this authorisation server says is active. */
  readonly introspect?: { readonly url: string; readonly clientId: string; readonly clientSecret: string; readonly scope?: string };
  /**
   * Applies each write only after its client has gone (as an upstream that is slower than the
   * gateway's timeout, yet applies the write), printing the Idempotency-Key it got.
   */
  readonly lateWrites?: boolean;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts json-server on `db` (its collections); resolves once it answers. With
 * `requireToken`, every request but GET /db must carry `Authorization: Bearer <token>` (or
 * the token in `requireHeader`); with `introspect`, a bearer token the authorisation server
 * says is active (and has `scope`, when given). GET /db always answers, as the system of
 * record's own view.
 */
export async function startJsonServer(db: Record<string, unknown>, options: JsonServerOptions = {}): Promise<JsonServer> {
  const dir = makeTempDir('portcullis-json-server');
  const file = join(dir.path, 'db.json');
  writeFileSync(file, JSON.stringify(db, null, 2));
  const { introspect } = options;
  const env: Record<string, string> = introspect === undefined
    ? { ...(options.requireToken === undefined ? {} : { REQUIRED_TOKEN: options.requireToken }), ...(options.requireHeader === undefined ? {} : { REQUIRED_HEADER: options.requireHeader }) }
    : { INTROSPECTION_URL: introspect.url, INTROSPECTION_CLIENT_ID: introspect.clientId, INTROSPECTION_CLIENT_SECRET: introspect.clientSecret, ...(introspect.scope === undefined ? {} : { REQUIRED_SCOPE: introspect.scope }) };
  if (options.lateWrites === true) env.LATE_WRITES = '1';
  let out = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  const heard = (chunk: Buffer): void => {
    out += chunk.toString();
    for (const w of waiting.splice(0)) if (out.includes(w.text)) w.resolve(); else waiting.push(w);
  };
  /** Spawns json-server on a free port; undefined when another process took the port first. */
  const launch = async (port: number): Promise<ChildProcess | undefined> => {
    out = '';
    const child: ChildProcess = spawn(process.execPath, [BIN, file, '--host', '127.0.0.1', '--port', String(port), '--middlewares', introspect === undefined ? REQUIRE_TOKEN : INTROSPECT], {
      env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', heard);
    child.stderr?.on('data', heard);
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) {
        if (out.includes('EADDRINUSE')) return undefined;
        throw new Error(`json-server exited with ${child.exitCode}: ${out}`);
      }
      // Up once it has called listen (it prints its resources then), the port answers, and it has
      // not exited since (a taken port fails the listen at once): another process on the port must
      // not pass for it.
      if (out.includes('Resources') && await fetch(`http://127.0.0.1:${port}/db`).then((r) => r.ok, () => false)) {
        await new Promise((r) => setTimeout(r, 50));
        if (child.exitCode === null) return child;
        continue;
      }
      if (Date.now() > deadline) { child.kill(); throw new Error(`json-server did not start within 15 s: ${out}`); }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  // freePort's port can be taken before json-server binds it (other test processes): try another.
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt += 1) {
    if (attempt === 3) throw new Error(`json-server found its port taken three times: ${out}`);
    port = await freePort();
    child = await launch(port);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port,
    async get(path) {
      const token = options.requireToken;
      const headers: Record<string, string> = token === undefined ? {} : { [options.requireHeader ?? 'authorization']: options.requireHeader === undefined ? `Bearer ${token}` : token };
      const res = await fetch(`${url}${path}`, { headers });
      return { status: res.status, body: await res.json() };
    },
    output: () => out,
    waitForOutput: (text) => new Promise((resolve) => {
      if (out.includes(text)) resolve();
      else waiting.push({ text, resolve });
    }),
    close: () => new Promise((resolve) => {
      const done = (): void => { dir.cleanup(); resolve(); };
      if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
      child.once('exit', done);
      child.kill('SIGTERM');
    }),
  };
}

/** The OpenAPI document of the leads API that json-server serves in the tests. */
export const LEADS_OPENAPI = fileURLToPath(new URL('../connectors/http/fixtures/leads-openapi.yaml', import.meta.url));

/**
 * The harness's config plus an `api` system (the leads OpenAPI document at `baseUrl`, a bearer
 * token from CRM_API_TOKEN) and a workflow `crm-api` on it that reads, updates owners and deletes.
 */
export function crmApiConfig(baseUrl: string, mode = 'mode: { read: auto, write: approval, high: approval }'): string {
  return harnessConfig({
    extraSystemsYaml: `  api:
    kind: http
    openapi: ${JSON.stringify(LEADS_OPENAPI)}
    baseUrl: ${baseUrl}
    auth: { kind: bearer, tokenEnv: CRM_API_TOKEN }
    healthPath: /leads
    timeout: 5s`,
    extraWorkflowYaml: `  crm-api:
    description: Route leads through the CRM's REST API
    agent: lead-router
    department: sales
    owner: tom
    runbook: Assign leads by hand in the CRM.
    ${mode}${/write: auto/.test(mode) ? `\n    override: { by: ada, reason: "these tests run writes without approval" }` : ''}
    grants:
      - api:leads:read
      - api:leads.owner_id:update
      - { grant: api:leads:delete, explicit: true }`,
  });
}
