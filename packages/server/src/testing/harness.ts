/**
 * The shared test harness: a temp folder with the demo's sample CRM and a config, a gateway
 * opened on a real SQLite store with a fake clock, and keys for the agent and people.
 * Tests drive it through `app.inject` (in-process HTTP) or the service.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { CompiledConfig } from '../config/compiled.js';
import { formatConfigErrors, parseConfigText } from '../config/load.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { createSampleCrm } from '../demo/sample-crm.js';
import type { Connector, ExecutionContext, ExecutionResult } from '../connectors/connector.js';
import type { ActionSpec } from '../config/action-spec.js';
import { connectSystems, openGateway, type Gateway, type GatewayOptions } from '../wiring/gateway.js';
import { createFakeClock, type FakeClock } from './fake-clock.js';

/** The config the harness uses unless a test passes its own: the demo's lead-routing workflow plus a second department. */
export function harnessConfig(overrides: { mode?: string; extraWorkflowYaml?: string; allowOwnerApproval?: boolean; extraSystemsYaml?: string } = {}): string {
  return `
version: 1
store: { kind: sqlite, path: ./portcullis.db }
systems:
  crm:
    kind: sql
    driver: sqlite
    path: ./crm.db
    tables:
      leads: { primaryKey: id, columns: [id, name, email, company, region, owner_id, status, created_at] }
${overrides.extraSystemsYaml ?? ''}
departments:
  sales: { name: Sales, leads: [dana], delegates: [dele] }
  finance: { name: Finance, leads: [fay] }
people:
  dana: { name: Dana, tokenEnv: T_DANA }
  dele: { name: Dele, tokenEnv: T_DELE }
  fay: { name: Fay, tokenEnv: T_FAY }
  tom: { name: Tom, tokenEnv: T_TOM }
  ada: { name: Ada, admin: true, tokenEnv: T_ADA }
agents:
  lead-router: { name: Lead router, owner: tom, department: sales, keyEnv: K_AGENT }
  other-agent: { name: Other, owner: tom, department: finance, keyEnv: K_OTHER }
workflows:
  route-leads:
    description: Route new leads
    agent: lead-router
    department: sales
    owner: tom
    runbook: Assign leads by hand in the CRM.
    ${overrides.mode ?? 'mode: { read: auto, write: approval, high: approval }'}${/write: auto/.test(overrides.mode ?? '') ? `\n    override: { by: ada, reason: "these tests run writes without approval" }` : ''}
    allowOwnerApproval: ${overrides.allowOwnerApproval ?? false}
    grants:
      - crm:leads:read
      - crm:leads.owner_id:update
      - { grant: crm:leads:delete, explicit: true }
    bounds:
      scope: { "crm:leads": { field: created_at, within: 24h } }
      maxRecordsPerAction: 3
    approvalTimeout: 1h
${overrides.extraWorkflowYaml ?? ''}`;
}

export interface Harness {
  readonly gateway: Gateway;
  readonly clock: FakeClock;
  readonly dir: string;
  readonly crmPath: string;
  readonly storePath: string;
  /** Secrets by name: agent, other, dana, dele, fay, tom, ada. */
  readonly secrets: Readonly<Record<'agent' | 'other' | 'dana' | 'dele' | 'fay' | 'tom' | 'ada', string>>;
  /** In-process request as `who` (a key of secrets), JSON body. */
  request(who: keyof Harness['secrets'] | undefined, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** What a test may change about a harness. */
export interface HarnessOptions {
  readonly configYaml?: string;
  readonly clock?: FakeClock;
  /** More environment for the config (e.g. PORTCULLIS_MASTER_KEY). */
  readonly env?: Readonly<Record<string, string>>;
  /** Runs in the new folder before the config is compiled (write key files, fixtures…). */
  readonly prepare?: (dir: string) => void;
  /** More options for openGateway (a logger, connectors). */
  readonly gateway?: Omit<GatewayOptions, 'clock'>;
  /**
   * Changes the compiled config before the gateway opens on it: for tests of what the gateway
   * itself does with a config the loader would refuse (defence in depth).
   */
  readonly adjustConfig?: (config: CompiledConfig) => CompiledConfig;
}

/** Opens a harness. The CRM's leads are timed relative to the fake clock. */
export async function openHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-test-'));
  const clock = options.clock ?? createFakeClock();
  const crmPath = join(dir, 'crm.db');
  createSampleCrm(crmPath, clock.now());
  const secret = (p: string): string => `${p}_${randomBytes(12).toString('hex')}`;
  const secrets = { agent: secret('agent'), other: secret('other'), dana: secret('dana'), dele: secret('dele'), fay: secret('fay'), tom: secret('tom'), ada: secret('ada') };
  const text = options.configYaml ?? harnessConfig();
  writeFileSync(join(dir, 'portcullis.yaml'), text);
  options.prepare?.(dir);
  const parsed = parseConfigText(text, {
    kinds: SYSTEM_KINDS,
    source: join(dir, 'portcullis.yaml'), baseDir: dir,
    env: { K_AGENT: secrets.agent, K_OTHER: secrets.other, T_DANA: secrets.dana, T_DELE: secrets.dele, T_FAY: secrets.fay, T_TOM: secrets.tom, T_ADA: secrets.ada, ...options.env },
  });
  if (!parsed.ok) throw new Error(formatConfigErrors(parsed.errors));
  const config = options.adjustConfig?.(parsed.config) ?? parsed.config;
  const gateway = await openGateway(config, { expiryIntervalMs: 0, alertsIntervalMs: 0, ...options.gateway, clock });
  return {
    gateway, clock, dir, crmPath, storePath: join(dir, 'portcullis.db'), secrets,
    request(who, inject) {
      const headers = { ...(inject.headers ?? {}), ...(who === undefined ? {} : { authorization: `Bearer ${secrets[who]}` }) };
      return gateway.app.inject({ ...inject, headers });
    },
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads one lead straight from the CRM database, as the system of record sees it. */
export function readLead(harness: Harness, id: number): Record<string, unknown> | undefined {
  const db = new Database(harness.crmPath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM leads WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  } finally {
    db.close();
  }
}

/** All audit events of the harness's store, oldest first. */
export async function auditTrail(harness: Harness) {
  return harness.gateway.store.queryAudit({ limit: 100_000 });
}

/** Proposes as the harness's agent over HTTP. */
export function proposeAs(harness: Harness, who: keyof Harness['secrets'], body: unknown, idempotencyKey?: string): Promise<LightMyRequestResponse> {
  return harness.request(who, {
    method: 'POST', url: '/v1/actions', payload: body as Record<string, unknown>,
    ...(idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': idempotencyKey } }),
  });
}

/** Makes the harness's CRM refuse every update of a lead (or accept them again), as a system under maintenance would: a SQLite trigger. */
export function crmRefusesWrites(harness: Harness, refuse: boolean): void {
  const db = new Database(harness.crmPath);
  try {
    db.exec(refuse
      ? "CREATE TRIGGER IF NOT EXISTS maintenance BEFORE UPDATE ON leads BEGIN SELECT RAISE(ABORT, 'the CRM is in maintenance'); END"
      : 'DROP TRIGGER IF EXISTS maintenance');
  } finally {
    db.close();
  }
}

/**
 * The real connectors, each execution going through `around` (which calls `real` when it
 * chooses): for faults at the connector boundary, such as an answer lost after the write ran,
 * or a person acting while an execution is under way.
 */
export function aroundExecute(around: (real: Connector, spec: ActionSpec, params: unknown, context: ExecutionContext) => Promise<ExecutionResult>): NonNullable<GatewayOptions['connect']> {
  return (config, deps) => new Map([...connectSystems(config, deps)].map(([name, real]): [string, Connector] => [name, {
    ...real,
    precheck: real.precheck.bind(real), check: real.check.bind(real), close: real.close.bind(real),
    execute: (spec, params, context) => around(real, spec, params, context),
  }]));
}
