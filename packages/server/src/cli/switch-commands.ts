/**
 * `portcullis disable|enable agent|workflow NAME --reason …` (the kill switch) and
 * `portcullis status`: what is off, by whom, why, since when, and the runbook to follow, over
 * the HTTP API with the person's token.
 */
import type { Command } from 'commander';
import { SUBJECT_KINDS, type AuditEventView, type DisabledView } from '../service/contracts.js';
import { call, failure, withClient, type ClientOptions } from './api-client.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

interface StatusAnswer {
  readonly workflows: ReadonlyArray<{ id: string; department: string; agent: string; disabled?: DisabledView; runbook: string; breaker: { failures: number; threshold: number } }>;
  readonly agents: ReadonlyArray<{ id: string; owner: string; disabled?: DisabledView }>;
  readonly alerts: readonly AuditEventView[];
}

function offLine(disabled: DisabledView | undefined): string {
  if (disabled === undefined) return 'enabled';
  return `DISABLED since ${disabled.since} by ${disabled.breaker ? 'the circuit breaker' : disabled.by}: ${disabled.reason}`;
}

/** The status as a person reads it: each workflow and agent, what to do while one is off, the latest alerts. */
export function formatStatus(status: StatusAnswer): string {
  const lines: string[] = ['Workflows'];
  if (status.workflows.length === 0) lines.push('  (none you may see)');
  for (const w of status.workflows) {
    // A workflow whose agent is off executes nothing either: say so on its line.
    const agentOff = w.disabled === undefined ? status.agents.find((a) => a.id === w.agent)?.disabled : undefined;
    const state = agentOff === undefined ? offLine(w.disabled) : `STOPPED: its agent ${w.agent} is ${offLine(agentOff)}`;
    lines.push(`  ${w.id}  (agent ${w.agent}, department ${w.department})  ${state}`);
    lines.push(`    breaker: ${w.breaker.failures} of ${w.breaker.threshold} failures in a row`);
    if (w.disabled !== undefined || agentOff !== undefined) lines.push(`    runbook: ${w.runbook}`);
  }
  lines.push('Agents');
  for (const a of status.agents) lines.push(`  ${a.id}  (owner ${a.owner})  ${offLine(a.disabled)}`);
  if (status.alerts.length > 0) {
    lines.push('Alerts (newest first)');
    for (const alert of status.alerts) lines.push(`  ${alert.at}  ${String(alert.data.kind)}  ${alert.workflow ?? ''}  ${String(alert.data.message ?? '')}`);
  }
  return lines.join('\n');
}

export function registerSwitchCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  for (const verb of ['disable', 'enable'] as const) {
    withClient(host, program.command(`${verb} <kind> <name>`)
      .description(verb === 'disable'
        ? 'stop an agent or a workflow at once (kind: agent or workflow): its next proposal is refused and what waits for approval is cancelled (uses the HTTP API)'
        : 'let a disabled agent or workflow act again (uses the HTTP API)'))
      .option('--reason <text>', 'why (required; kept in the audit trail and shown by `portcullis status`)')
      .action(async (kind: string, name: string, opts: ClientOptions & { reason?: string }) => {
        if (!(SUBJECT_KINDS as readonly string[]).includes(kind)) {
          output.err(`${verb} takes agent or workflow, then its name: portcullis ${verb} workflow route-leads --reason "…" (got "${kind}")`); setExit(2); return;
        }
        if (opts.reason === undefined || opts.reason.trim() === '') {
          output.err(`${verb} needs --reason "why" (kept in the audit trail)`); setExit(2); return;
        }
        const answer = await call(opts, output, setExit, 'POST', `/v1/${kind}s/${encodeURIComponent(name)}/${verb}`, { reason: opts.reason });
        if (answer === undefined) return;
        const { status, json } = answer;
        if (status !== 200) { output.err(failure(json, status)); setExit(1); return; }
        const done = json as { cancelled: string[] };
        output.out(verb === 'disable'
          ? `${kind} ${name} is disabled; ${done.cancelled.length === 0 ? 'no proposal was waiting' : `cancelled ${done.cancelled.length} waiting proposal${done.cancelled.length === 1 ? '' : 's'}: ${done.cancelled.join(', ')}`}`
          : `${kind} ${name} is enabled again`);
      });
  }

  withClient(host, program.command('status').description('what is disabled among your workflows and agents, by whom, why and since when, with the runbook, and the latest alerts (uses the HTTP API)'))
    .option('--json', 'print JSON')
    .action(async (opts: ClientOptions & { json?: boolean }) => {
      const answer = await call(opts, output, setExit, 'GET', '/v1/status');
      if (answer === undefined) return;
      const { status, json } = answer;
      if (status !== 200) { output.err(failure(json, status)); setExit(1); return; }
      output.out(opts.json === true ? JSON.stringify(json, null, 2) : formatStatus(json as StatusAnswer));
    });
}
