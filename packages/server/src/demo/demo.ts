/**
 * `portcullis demo` (`npm start`): a fresh sample CRM, the lead-routing workflow in
 * approval-first mode, a scripted agent run against the live gateway, one approval by the
 * sales lead, then ready-to-paste commands to try the rest by hand.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { CompiledConfig, GatewayService } from '../service/contracts.js';
import { createSampleCrm } from './sample-crm.js';
import { runScriptedAgent, type AgentStep } from './scripted-agent.js';

/** The example config the demo runs. */
export const DEMO_CONFIG = fileURLToPath(new URL('../../../../examples/lead-routing/portcullis.yaml', import.meta.url));

/** Where the demo prints. */
export interface DemoOutput {
  out(text: string): void;
  err(text: string): void;
}

/** A gateway the demo runs on. */
export interface DemoGateway {
  readonly service: GatewayService;
  /** Serves the HTTP API; resolves with the address. */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** What the demo needs from the wiring: load its config, open a gateway on it. */
export interface DemoHost {
  /** Loads a config file with these environment values; errors formatted for people. */
  loadConfig(path: string, env: Readonly<Record<string, string>>): { ok: true; config: CompiledConfig } | { ok: false; message: string };
  openGateway(config: CompiledConfig): Promise<DemoGateway>;
}

export interface DemoOptions {
  readonly dir: string;
  readonly port: number;
  readonly output: DemoOutput;
  readonly host?: string;
  /** The wiring (see wiring/main.ts). */
  readonly wiring: DemoHost;
}

export interface Demo {
  readonly gateway: DemoGateway;
  readonly url: string;
  readonly keys: { readonly agent: string; readonly lead: string; readonly owner: string };
  readonly steps: readonly AgentStep[];
  close(): Promise<void>;
}

const secret = (prefix: string): string => `${prefix}_${randomBytes(18).toString('base64url')}`;

function mark(step: AgentStep): string {
  const outcome = step.body.decision?.outcome;
  if (step.status >= 400) return '✗ error ';
  if (outcome === 'deny') return '✗ denied';
  if (outcome === 'needs_approval') return '… waits ';
  return '✓ ran   ';
}

function summarise(step: AgentStep): string {
  if (step.status >= 400) return `${step.body.error?.code}: ${step.body.error?.message}`;
  const d = step.body.decision;
  if (d?.outcome === 'deny') return `${d.code}: ${d.reasons.join('; ')}`;
  if (d?.outcome === 'needs_approval') return `${step.body.status} as ${step.body.id} (${d.reasons.at(-1)})`;
  const rows = (step.body.result as { count?: number } | undefined)?.count;
  return `${step.body.status}${rows === undefined ? '' : `: ${rows} lead(s) returned (only those created in the last 24 hours)`}`;
}

/** Sets up and runs the demo; the gateway keeps serving until `close`. */
export async function runDemo(options: DemoOptions): Promise<Demo> {
  const { output } = options;
  const dir = resolve(options.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'portcullis.yaml');
  copyFileSync(DEMO_CONFIG, configPath);
  const now = Date.now();
  createSampleCrm(join(dir, 'crm.db'), now);
  const keys = { agent: secret('pc_agent'), lead: secret('pc_dana'), owner: secret('pc_tom') };
  const loaded = options.wiring.loadConfig(configPath, {
    PORTCULLIS_DEMO_AGENT_KEY: keys.agent, PORTCULLIS_DEMO_LEAD_TOKEN: keys.lead, PORTCULLIS_DEMO_OWNER_TOKEN: keys.owner,
  });
  if (!loaded.ok) throw new Error(`the demo config is invalid:\n${loaded.message}`);
  const gateway = await options.wiring.openGateway(loaded.config);
  const host = options.host ?? '127.0.0.1';
  await gateway.listen(options.port, host);
  const url = `http://${host}:${options.port}`;

  const crm = new Database(join(dir, 'crm.db'), { readonly: true });
  const oldLead = crm.prepare("SELECT id FROM leads WHERE julianday(created_at) < julianday('now', '-1 day') ORDER BY id LIMIT 1").get() as { id: number };
  crm.close();

  const steps = await runScriptedAgent(url, keys.agent, oldLead.id);
  const firstPending = steps.find((s) => s.body.status === 'pending_approval' && s.action === 'crm.leads.update');
  let approvedLine = '';
  if (firstPending?.body.id !== undefined) {
    const response = await fetch(`${url}/v1/approvals/${firstPending.body.id}/approve`, {
      method: 'POST', headers: { authorization: `Bearer ${keys.lead}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'region matches the rep' }),
    });
    const approved = (await response.json()) as { status?: string; result?: unknown };
    approvedLine = `Dana (sales lead) approved ${firstPending.body.id}: it is now ${approved.status} ${JSON.stringify(approved.result)}; the lead's previous owner is kept for rollback.`;
  }
  const rollout = (await (await fetch(`${url}/v1/workflows/route-leads/rollout`, { headers: { authorization: `Bearer ${keys.lead}` } })).json()) as { stage?: string; modes?: { write?: string } };
  const stageLine = `Workflow route-leads is in ${rollout.stage ?? '?'} (deployed today): its writes are ${rollout.modes?.write === 'auto' ? 'automated' : 'approval-first'} until it earns promotion (14 days, at least 95% approved over a week; see docs/rollout.md).`;
  const pending = steps.filter((s) => s.body.status === 'pending_approval' && s.body.id !== firstPending?.body.id);
  const example = pending[0]?.body.id ?? '<proposal id>';

  output.out([
    '',
    'Portcullis demo: lead routing, approval-first',
    `  gateway  ${url}   (API description: ${url}/openapi.json)`,
    `  files    ${dir}  (crm.db: the sample CRM; portcullis.db: proposals and the audit trail)`,
    '',
    'The scripted agent (lead-router) proposed:',
    ...steps.map((s) => `  ${mark(s)} ${s.label}\n             ${summarise(s)}`),
    '',
    approvedLine,
    stageLine,
    '',
    'Try it by hand (paste into another terminal):',
    `  export PORTCULLIS_URL=${url}`,
    `  export AGENT_KEY=${keys.agent}    # the agent's API key`,
    `  export PORTCULLIS_TOKEN=${keys.lead}    # Dana, the sales department lead`,
    '',
    '  # the agent proposes a routing (needs approval):',
    `  curl -s -X POST $PORTCULLIS_URL/v1/actions -H "Authorization: Bearer $AGENT_KEY" -H 'Content-Type: application/json' \\`,
    `    -d '{"workflow":"route-leads","action":"crm.leads.update","params":{"ids":[3],"set":{"owner_id":"rep-kenji"}},"reason":"APAC lead"}'`,
    `  # Dana approves with curl: ${example} is the demo's own waiting proposal; for yours, put the id from the answer above:`,
    `  curl -s -X POST $PORTCULLIS_URL/v1/approvals/${example}/approve -H "Authorization: Bearer $PORTCULLIS_TOKEN" -H 'Content-Type: application/json' -d '{"reason":"ok"}'`,
    '  # or with the CLI:',
    '  npx portcullis approvals list',
    `  npx portcullis approvals approve ${example} --reason "ok"`,
    `  npx portcullis approvals reject <id> --reason "wrong region"`,
    '  # the agent waits for the outcome (long-poll):',
    `  curl -s "$PORTCULLIS_URL/v1/actions/${example}?wait=30" -H "Authorization: Bearer $AGENT_KEY"`,
    '  # the workflow\'s stage, readiness and daily figures; stop it at once if it misbehaves:',
    '  npx portcullis workflows show route-leads',
    '  npx portcullis report --metrics',
    '  npx portcullis disable workflow route-leads --reason "checking its routings"',
    '  # the audit trail, and proof it was not edited:',
    '  curl -s "$PORTCULLIS_URL/v1/audit?limit=20" -H "Authorization: Bearer $PORTCULLIS_TOKEN"',
    `  npx portcullis audit verify --db ${join(dir, 'portcullis.db')}`,
    `  npx portcullis audit export --db ${join(dir, 'portcullis.db')} --format csv`,
    '',
    'Serving until you press Ctrl+C.',
  ].join('\n'));

  return { gateway, url, keys, steps, close: () => gateway.close() };
}
