/**
 * `portcullis workflows show|deploy|promote`: a workflow's stage, modes in force and why, its
 * promotion readiness and the rollout gate; deploying a draft and promoting a ready workflow,
 * over the HTTP API with the person's token (the service authorises and audits).
 */
import type { Command } from 'commander';
import type { DisabledView, RolloutView } from '../service/contracts.js';
import { call, failure, withClient, type ClientOptions } from './api-client.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

const pct = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);

/** A table with a header row, columns padded to their widest cell. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** Who switched a workflow (or its agent) off, since when and why; executes nothing until enabled. */
const offWhy = (workflow: string, d: DisabledView & { readonly agent?: string }): string => {
  const what = d.agent === undefined ? `workflow ${workflow}` : `agent ${d.agent}`;
  return `${d.agent === undefined ? '' : `(its agent ${d.agent}) `}${d.breaker ? 'by the circuit breaker' : `by ${d.by}`} since ${d.since}: ${d.reason}; it executes nothing until someone enables it (\`portcullis enable ${what} --reason ...\`)`;
};

/** Each workflow's stage and modes, one row each, then why and the gate. */
export function formatStages(views: readonly RolloutView[]): string {
  const rows = [['workflow', 'department', 'stage', 'read', 'write', 'high', 'window rate', 'decisions', 'trips', 'ready']];
  for (const v of views) {
    rows.push([v.workflow, v.department, v.disabled === undefined ? v.stage : `${v.stage} (DISABLED)`, v.modes.read, v.modes.write, v.modes.high, pct(v.window.approvalRate), String(v.window.approved + v.window.rejected), String(v.window.breakerTrips), v.readiness.ready ? 'yes' : 'no']);
  }
  const notes = views.flatMap((v) => [
    ...(v.disabled === undefined ? [] : [`${v.workflow}: DISABLED ${offWhy(v.workflow, v.disabled)}`]),
    `${v.workflow}: write ${v.modes.write}: ${v.why}`,
    ...(v.override === undefined ? [] : [`${v.workflow}: OVERRIDE by ${v.override.by}: ${v.override.reason}`]),
    ...(v.gate === undefined ? [] : [`${v.workflow}: rollout gate ${v.gate.ok ? 'open' : 'closed'}: ${v.gate.reason}`]),
  ]);
  return `${table(rows)}\n\n${notes.join('\n')}`;
}

/** One workflow in full: stage, modes and why, dates, the readiness report and the gate. */
export function formatWorkflow(v: RolloutView): string {
  const lines = [
    `${v.workflow} (department ${v.department})`,
    `  stage:   ${v.stage}${v.deployedAt === undefined ? '' : ` (deployed ${v.deployedAt})`}`,
    ...(v.disabled === undefined ? [] : [`  DISABLED ${offWhy(v.workflow, v.disabled)}`]),
    `  modes:   read ${v.modes.read}, write ${v.modes.write}, high ${v.modes.high}`,
    `  why:     ${v.why}`,
    ...(v.override === undefined ? [] : [`  OVERRIDE by ${v.override.by}: ${v.override.reason}`]),
    ...(v.promotedAt === undefined ? [] : [`  promoted ${v.promotedAt}`]),
    ...(v.demotedAt === undefined ? [] : [`  demoted  ${v.demotedAt}`]),
    `  window:  ${v.window.from} … ${v.window.to}: ${v.window.approved} approved, ${v.window.rejected} rejected (${pct(v.window.approvalRate)}), ${v.window.breakerTrips} breaker trips`,
    `  readiness for promotion: ${v.readiness.ready ? 'READY' : 'not ready'}`,
    table([['  criterion', 'value', 'needed', 'pass', 'detail'], ...v.readiness.criteria.map((c) => [`  ${c.name}`, c.value === null ? '—' : String(Math.round(c.value * 1000) / 1000), c.needed, c.pass ? 'pass' : 'FAIL', c.detail])]),
    ...(v.gate === undefined ? [] : [`  rollout gate: ${v.gate.ok ? 'open' : 'closed'}: ${v.gate.reason}`]),
  ];
  return lines.join('\n');
}

export function registerWorkflowCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  const workflows = program.command('workflows').description('a workflow\'s stage, modes in force, readiness and the rollout gate; deploy and promote (uses the HTTP API)');

  withClient(host, workflows.command('show <name>').description('one workflow\'s stage, modes in force and why, its promotion readiness report and the rollout gate'))
    .option('--json', 'print JSON')
    .action(async (name: string, opts: ClientOptions & { json?: boolean }) => {
      const answer = await call(opts, output, setExit, 'GET', `/v1/workflows/${encodeURIComponent(name)}/rollout`);
      if (answer === undefined) return;
      if (answer.status !== 200) { output.err(failure(answer.json, answer.status)); setExit(1); return; }
      output.out(opts.json === true ? JSON.stringify(answer.json, null, 2) : formatWorkflow(answer.json as RolloutView));
    });

  for (const verb of ['deploy', 'promote'] as const) {
    withClient(host, workflows.command(`${verb} <name>`).description(verb === 'deploy'
      ? 'deploy a draft (draft → pilot), if the rollout gate is open'
      : 'automate a workflow\'s writes, if its readiness report passes (high-risk actions stay under approval)'))
      .option('--reason <text>', verb === 'deploy' ? 'why (required with --override)' : 'why (required)')
      .option('--override', verb === 'deploy' ? 'an admin deploys although the gate is closed (audited)' : 'an admin promotes although a criterion fails (audited)')
      .action(async (name: string, opts: ClientOptions & { reason?: string; override?: boolean }) => {
        if ((verb === 'promote' || opts.override === true) && (opts.reason === undefined || opts.reason.trim() === '')) {
          output.err(`${verb}${opts.override === true ? ' --override' : ''} needs --reason "why" (kept in the audit trail)`); setExit(2); return;
        }
        const answer = await call(opts, output, setExit, 'POST', `/v1/workflows/${encodeURIComponent(name)}/${verb}`, {
          ...(opts.reason === undefined ? {} : { reason: opts.reason }), ...(opts.override === true ? { override: true } : {}),
        });
        if (answer === undefined) return;
        if (answer.status !== 200) { output.err(failure(answer.json, answer.status)); setExit(1); return; }
        const v = answer.json as RolloutView;
        output.out(verb === 'deploy' ? `${v.workflow} is deployed: ${v.stage}` : `${v.workflow}'s writes run without approval now (high-risk actions still need a person)`);
      });
  }
}
