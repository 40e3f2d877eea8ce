/**
 * `portcullis rollback PROPOSAL_ID --reason …` and `portcullis rollback --run RUN_ID --reason …`:
 * a person with the role rolls back one executed proposal or a whole run over the HTTP API,
 * with their personal token, so the gateway authorises and audits the act. Exit 0 only when
 * everything was put back; 1 when the gateway refused, or something drifted, failed or was not
 * attempted (the report says which); 2 for bad usage.
 */
import type { Command } from 'commander';
import type { RollbackReport } from '../service/contracts.js';
import { call, failure, withClient, type ClientOptions } from './api-client.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

/** The report in lines a person reads: each step, then what was not attempted, then the outcome. */
export function formatRollbackReport(report: RollbackReport): string {
  const lines: string[] = [];
  for (const step of report.steps) {
    const head = `${step.proposalId} (${step.action})`;
    if (step.undone.length > 0) lines.push(`undone      ${head}: ${step.undone.join(', ')}`);
    for (const d of step.drifted) lines.push(`drifted     ${head}: ${d.record} left alone, ${d.why}`);
    if (step.error !== undefined) lines.push(`failed      ${head}: ${step.error.code}: ${step.error.message}`);
  }
  if (report.notAttempted.length > 0) lines.push(`not attempted: ${report.notAttempted.join(', ')}`);
  const what = report.runId === undefined ? 'rollback' : `run ${report.runId}`;
  const outcome = report.outcome === 'rolled_back' ? 'everything was put back'
    : report.outcome === 'partial' ? 'partly rolled back (see above)' : 'nothing was undone (see above)';
  lines.push(`${what}: ${outcome}`);
  return lines.join('\n');
}

/** Registers `portcullis rollback`. */
export function registerRollbackCommand(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  withClient(host, program.command('rollback [proposal-id]')
    .description('roll back one executed proposal, or a whole run with --run (newest first); your act is the approval (uses the HTTP API)')
    .option('--run <run-id>', 'roll back every executed write of this run instead')
    .option('--reason <text>', 'why (required; kept in the audit trail)')
    .option('--json', 'print the report as JSON'))
    .action(async (id: string | undefined, opts: ClientOptions & { run?: string; reason?: string; json?: boolean }) => {
      if ((id === undefined) === (opts.run === undefined)) {
        output.err('rollback needs a PROPOSAL_ID or --run RUN_ID (one of them)'); setExit(2); return;
      }
      if (opts.reason === undefined || opts.reason.trim() === '') {
        output.err('rollback needs --reason "why"'); setExit(2); return;
      }
      const path = opts.run === undefined ? `/v1/proposals/${encodeURIComponent(id as string)}/rollback` : `/v1/runs/${encodeURIComponent(opts.run)}/rollback`;
      const answer = await call(opts, output, setExit, 'POST', path, { reason: opts.reason });
      if (answer === undefined) return;
      const { status, json } = answer;
      if (status !== 200) { output.err(failure(json, status)); setExit(1); return; }
      const report = json as RollbackReport;
      output.out(opts.json === true ? JSON.stringify(report, null, 2) : formatRollbackReport(report));
      if (report.outcome !== 'rolled_back') setExit(1);
    });
}
