/**
 * `portcullis report`: each of your workflows' stage, modes in force and why, readiness and the
 * rollout gate; with `--metrics`, their daily figures (the approval rate, failures, approval
 * waits); as tables, over the HTTP API with your personal token.
 */
import type { Command } from 'commander';
import type { DailyFigures, RolloutView, WorkflowMetrics } from '../service/contracts.js';
import { formatStages } from './workflow-commands.js';
import { call, failure, withClient, type ClientOptions } from './api-client.js';
import type { CliHost } from './host.js';
import type { Output } from './output.js';

const rate = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);

function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

const COLUMNS: ReadonlyArray<[string, (d: DailyFigures) => string]> = [
  ['day', (d) => d.day],
  ['proposals', (d) => String(d.proposals)],
  ['approved', (d) => String(d.approved)],
  ['rejected', (d) => String(d.rejected)],
  ['cancelled', (d) => String(d.cancelled)],
  ['expired', (d) => String(d.expired)],
  ['auto', (d) => String(d.autoExecuted)],
  ['failed', (d) => String(d.failed)],
  ['unknown', (d) => String(d.outcomeUnknown)],
  ['approval rate', (d) => rate(d.approvalRate)],
  ['failure rate', (d) => rate(d.failureRate)],
  ['wait p50', (d) => duration(d.approvalWaitMs?.p50)],
  ['wait p95', (d) => duration(d.approvalWaitMs?.p95)],
];

/** One workflow's days as an aligned table. */
export function formatFigures(metrics: WorkflowMetrics): string {
  const rows = [COLUMNS.map(([name]) => name), ...metrics.days.map((d) => COLUMNS.map(([, cell]) => cell(d)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd());
  return [`${metrics.workflow} (days in ${metrics.timeZone}; approval rate = approved / (approved + rejected))`, ...lines].join('\n');
}

export function registerReportCommand(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  withClient(host, program.command('report').description('your workflows\' stages, modes in force and why, promotion readiness and the rollout gate; with --metrics their daily figures (uses the HTTP API)'))
    .option('--metrics', 'the daily figures instead: proposals, decisions, the approval and failure rates, approval waits')
    .option('--workflow <id>', 'only this workflow')
    .option('--from <day>', 'first day, YYYY-MM-DD (default: six days before --to)')
    .option('--to <day>', 'last day, YYYY-MM-DD (default: today in the gateway\'s time zone)')
    .option('--json', 'print JSON')
    .action(async (opts: ClientOptions & { metrics?: boolean; workflow?: string; from?: string; to?: string; json?: boolean }) => {
      for (const [name, value] of [['--from', opts.from], ['--to', opts.to]] as const) {
        if (value !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(value)) { output.err(`${name} takes a day as YYYY-MM-DD (got "${value}")`); setExit(2); return; }
      }
      if (opts.metrics !== true) {
        const answer = await call(opts, output, setExit, 'GET', '/v1/rollout');
        if (answer === undefined) return;
        if (answer.status !== 200) { output.err(failure(answer.json, answer.status)); setExit(1); return; }
        const views = (answer.json as { workflows: RolloutView[] }).workflows.filter((v) => opts.workflow === undefined || v.workflow === opts.workflow);
        output.out(opts.json === true ? JSON.stringify(views, null, 2) : views.length === 0 ? 'you take part in no workflow' : formatStages(views));
        return;
      }
      let ids: string[];
      if (opts.workflow !== undefined) ids = [opts.workflow];
      else {
        const listed = await call(opts, output, setExit, 'GET', '/v1/workflows');
        if (listed === undefined) return;
        if (listed.status !== 200) { output.err(failure(listed.json, listed.status)); setExit(1); return; }
        ids = (listed.json as { workflows: Array<{ id: string }> }).workflows.map((w) => w.id);
      }
      const query = new URLSearchParams({ ...(opts.from === undefined ? {} : { from: opts.from }), ...(opts.to === undefined ? {} : { to: opts.to }) }).toString();
      const reports: WorkflowMetrics[] = [];
      for (const id of ids) {
        const answer = await call(opts, output, setExit, 'GET', `/v1/workflows/${encodeURIComponent(id)}/metrics${query === '' ? '' : `?${query}`}`);
        if (answer === undefined) return;
        if (answer.status !== 200) { output.err(failure(answer.json, answer.status)); setExit(1); return; }
        reports.push(answer.json as WorkflowMetrics);
      }
      if (opts.json === true) { output.out(JSON.stringify(reports, null, 2)); return; }
      output.out(reports.length === 0 ? 'you take part in no workflow' : reports.map(formatFigures).join('\n\n'));
    });
}
