/**
 * `portcullis simulate SCRIPT`: replays a scripted history (docs/simulate.md) on a fresh store
 * with an injected clock, and prints each workflow's stage, modes, daily figures, alerts and
 * the gate and promotion decisions day by day, then the day of each stage change.
 */
import type { Command } from 'commander';
import type { SimulatedWorkflowDay, SimulationResult } from '../service/contracts.js';
import type { CliHost } from './host.js';
import { EXIT } from './load-config.js';
import type { Output } from './output.js';

const rate = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(1).replace(/\.0$/, '')}%`);

const COLUMNS: ReadonlyArray<[string, (w: SimulatedWorkflowDay) => string]> = [
  ['workflow', (w) => w.workflow],
  ['stage', (w) => w.stage],
  ['read/write/high', (w) => `${w.modes.read}/${w.modes.write}/${w.modes.high}`],
  ['proposed', (w) => String(w.proposals)],
  ['approved', (w) => String(w.approved)],
  ['rejected', (w) => String(w.rejected)],
  ['auto', (w) => String(w.autoExecuted)],
  ['failed', (w) => String(w.failed)],
  ['rate', (w) => rate(w.approvalRate)],
  ['gate', (w) => w.gate ?? ''],
  ['alerts', (w) => w.alerts.join(', ')],
  ['what happened', (w) => w.events.join('; ')],
];

/** The day-by-day table. */
export function formatSimulation(result: SimulationResult): string {
  const header = ['day', 'date', ...COLUMNS.map(([name]) => name)];
  const rows = result.days.flatMap((d) => d.workflows.map((w) => [String(d.day), d.crmRefusesWrites ? `${d.date}!` : d.date, ...COLUMNS.map(([, cell]) => cell(w))]));
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const lines = all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
  return [
    `${result.source}: ${result.days.length} days (day 0 is ${result.days[0]?.date ?? '?'}; days in ${result.timeZone}; figures of each day, stage and modes at its end; a date marked ! is a day the CRM refused writes)`,
    ...lines,
  ].join('\n');
}

/** The day of each stage and write-mode change, per workflow. */
export function formatChanges(result: SimulationResult): string {
  const workflows = [...new Set(result.days[0]?.workflows.map((w) => w.workflow) ?? [])];
  const lines = workflows.map((id) => {
    const changes = result.changes.filter((c) => c.workflow === id)
      .map((c) => (c.what === 'stage' ? `${c.from} → ${c.to} on day ${c.day}` : `write ${c.from} → ${c.to} on day ${c.day} (${c.to === 'auto' ? 'promoted' : 'demoted'})`));
    return `  ${id}: ${changes.length === 0 ? 'no change (a draft throughout)' : changes.join(', ')}`;
  });
  return ['Stage changes:', ...lines].join('\n');
}

export function registerSimulateCommand(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  program.command('simulate <script>')
    .description('replay a scripted history (docs/simulate.md) on a fresh store with an injected clock; print each workflow\'s stage, modes, daily approval rate, alerts and the gate and promotion decisions, day by day')
    .option('--dir <dir>', 'run in this new or empty directory and keep its store and CRM (default: a temporary directory, removed after)')
    .option('--json', 'print JSON')
    .action(async (script: string, opts: { dir?: string; json?: boolean }) => {
      const outcome = await host.simulate(script, opts.dir === undefined ? {} : { dir: opts.dir });
      if (!outcome.ok) { output.err(outcome.message); setExit(EXIT.usage); return; }
      const { result } = outcome;
      if (opts.json === true) { output.out(JSON.stringify(result, null, 2)); return; }
      output.out(formatSimulation(result));
      output.out('');
      output.out(formatChanges(result));
      if (outcome.kept) output.out(`\nThe store and the CRM are kept in ${outcome.dir} (portcullis audit verify --db ${outcome.dir}/.portcullis/portcullis.db)`);
    });
}
