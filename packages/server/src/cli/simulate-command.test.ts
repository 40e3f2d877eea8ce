/**
 * `portcullis simulate` (issue 13 item 7): both shipped simulations run from the repository
 * through the CLI in-process, on a fresh store with the injected clock, and change stage on the
 * days their comments promise; the store they leave verifies; a bad script is refused with
 * every problem located, and runs nothing (exit 2).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulationResult } from '../service/contracts.js';
import { runCli } from '../testing/run-cli.js';
import { makeTempDir, type TempDir } from '../testing/temp-dir.js';

const example = (name: string): string => new URL(`../../../../examples/simulate/${name}`, import.meta.url).pathname;

let dir: TempDir | undefined;
afterEach(() => { dir?.cleanup(); dir = undefined; });

/** `workflow: change on day N` for every change, in order. */
const changes = (result: SimulationResult): string[] => result.changes.map((c) => `${c.workflow}: ${c.what === 'write' ? 'write ' : ''}${c.from} → ${c.to} on day ${c.day}`);
const eventsOn = (result: SimulationResult, day: number, workflow: string): string => result.days[day]?.workflows.find((w) => w.workflow === workflow)?.events.join('; ') ?? '';

describe('portcullis simulate: the shipped examples', () => {
  it('promotion.yaml: stable on day 7; promotion refused on day 13, earned on day 14; demoted on day 22 at 80%; re-promotion refused on day 29', async () => {
    const run = await runCli(['simulate', example('promotion.yaml'), '--json']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.out) as SimulationResult;
    expect(result.days).toHaveLength(31);
    expect(changes(result)).toEqual([
      'route-leads: draft → pilot on day 0',
      'route-leads: pilot → stable on day 7',
      'route-leads: write approval → auto on day 14',
      'route-leads: write auto → approval on day 22',
      'route-leads: stable → watch on day 23',
      'route-leads: watch → stable on day 30',
    ]);
    expect(eventsOn(result, 13, 'route-leads')).toMatch(/promote by dana: refused \(PROMOTION_NOT_READY: .*approval_first_days 13 days approval-first since deployment \(needs ≥ 14 days\)/);
    expect(eventsOn(result, 14, 'route-leads')).toBe('promote by dana: done');
    expect(eventsOn(result, 29, 'route-leads')).toMatch(/refused \(PROMOTION_NOT_READY: .*6 days approval-first since the demotion \(needs ≥ 7 days\)/);
    const day22 = result.days[22]?.workflows[0];
    expect(day22).toMatchObject({ approved: 8, rejected: 2, approvalRate: 0.8, modes: { write: 'approval', high: 'approval' } });
    expect([...(day22?.alerts ?? [])].sort()).toEqual(['approval_rate_low', 'workflow_demoted']);
    // After promotion, writes run at once and high would still wait: people decided only the checks.
    expect(result.days[15]?.workflows[0]).toMatchObject({ autoExecuted: 4, approved: 4, modes: { write: 'auto', high: 'approval' } });
  }, 120_000);

  it('rollout.yaml: one workflow at a time until three are stable, then an adjacent one in parallel; the store it keeps verifies', async () => {
    dir = makeTempDir('portcullis-simulate');
    const kept = join(dir.path, 'run');
    const run = await runCli(['simulate', example('rollout.yaml'), '--dir', kept]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain([
      'Stage changes:',
      '  route-leads: draft → pilot on day 0, pilot → stable on day 7',
      '  qualify-leads: draft → pilot on day 7, pilot → stable on day 14',
      '  enrich-leads: draft → pilot on day 14, pilot → stable on day 21',
      '  triage-tickets: draft → pilot on day 21, pilot → stable on day 28',
      '  dedupe-leads: draft → pilot on day 22, pilot → stable on day 29',
      '  chase-invoices: draft → pilot on day 29',
    ].join('\n'));
    const row = (day: number, workflow: string): string => run.out.split('\n').find((line) => new RegExp(`^${day} +\\S+ +${workflow} `).test(line)) ?? '';
    expect(row(3, 'qualify-leads')).toMatch(/draft .* closed +deploy by dana: refused \(ROLLOUT_GATE_CLOSED: .*one workflow at a time: "route-leads" \(pilot\) must be stable first/);
    expect(row(22, 'dedupe-leads')).toMatch(/pilot .*deploy by dana: done, pilot/);
    expect(row(22, 'chase-invoices')).toMatch(/refused \(ROLLOUT_GATE_CLOSED: .*"chase-invoices" is not adjacent to a stable workflow \(no stable workflow in department "finance"\)/);
    const verify = await runCli(['audit', 'verify', '--db', join(kept, '.portcullis', 'portcullis.db')]);
    expect(verify.code).toBe(0);
    expect(verify.out).toMatch(/audit trail OK/);
  }, 120_000);
});

describe('portcullis simulate: a bad script', () => {
  const BASE = readFileSync(example('promotion.yaml'), 'utf8');

  async function refused(text: string): Promise<{ err: string; dir: string }> {
    dir = makeTempDir('portcullis-simulate-bad');
    const file = join(dir.path, 'bad.yaml');
    writeFileSync(file, text);
    const run = await runCli(['simulate', file, '--dir', join(dir.path, 'run')]);
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    // Nothing ran: no store, no CRM.
    expect(existsSync(join(dir.path, 'run')) ? readdirSync(join(dir.path, 'run')) : []).toEqual([]);
    return { err: run.err, dir: dir.path };
  }
  const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((line) => line.includes(needle)) + 1;

  it('refuses an unknown field, at its line and column, with a suggestion', async () => {
    const text = BASE.replace('    promote: [route-leads]               # refused: 13 days', '    promotes: [route-leads]               # refused: 13 days');
    const { err } = await refused(text);
    expect(err).toMatch(new RegExp(`bad\\.yaml:${lineOf(text, 'promotes:')}:5 days\\[2\\]\\.promotes: unknown key "promotes"; did you mean "promote"\\?`));
    expect(err).toMatch(/1 problem\(s\) in .*bad\.yaml; nothing was run/);
  });

  it('refuses a day out of order', async () => {
    const text = BASE.replace('  - day: 13\n', '  - day: 9\n');
    const { err } = await refused(text);
    expect(err).toMatch(new RegExp(`bad\\.yaml:${lineOf(text, '- day: 9')}:\\d+ days\\[2\\]\\.day: day 9 comes after day 12: list the days in order, each once`));
  });

  it('refuses a workflow the config does not have, and an unknown key of the embedded config, at their places', async () => {
    const text = BASE.replace('  - day: 14\n    promote: [route-leads]', '  - day: 14\n    promote: [route-lead]').replace('      runbook: Assign', '      runbok: Assign');
    const { err } = await refused(text);
    expect(err).toMatch(new RegExp(`bad\\.yaml:${lineOf(text, 'runbok:')}:7 config\\.workflows\\.route-leads\\.runbok: unknown key "runbok"; did you mean "runbook"\\?`));
    expect(err).not.toMatch(/route-lead"/); // the config's problems first: the workflows are not known until it compiles
    const second = BASE.replace('  - day: 14\n    promote: [route-leads]', '  - day: 14\n    promote: [route-lead]');
    expect((await refused(second)).err).toMatch(new RegExp(`bad\\.yaml:${lineOf(second, 'promote: [route-lead]')}:\\d+ days\\[3\\]\\.promote\\[0\\]: "route-lead" is not a workflow of config\\.workflows; did you mean "route-leads"\\?`));
  });

  it('refuses a missing script and a --dir that is not empty', async () => {
    dir = makeTempDir('portcullis-simulate-usage');
    const missing = await runCli(['simulate', join(dir.path, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.yaml: no such file; pass the path of a simulation script/);
    writeFileSync(join(dir.path, 'something'), 'x');
    const busy = await runCli(['simulate', example('promotion.yaml'), '--dir', dir.path]);
    expect(busy.code).toBe(2);
    expect(busy.err).toMatch(/is not empty: a simulation starts from a fresh store/);
  });
});

describe('portcullis simulate: failures', () => {
  it('a day the CRM refuses writes: three approved routings fail, the breaker trips and disables the workflow; a person enables it the next day', async () => {
    dir = makeTempDir('portcullis-simulate-outage');
    const base = readFileSync(example('promotion.yaml'), 'utf8');
    const script = `${base.slice(0, base.indexOf('\ndays:\n'))}
days:
  - day: 0
    deploy: [route-leads]
    activity:
      route-leads: { propose: { route: 2 }, approve: 2 }
  - day: 1
    crmRefusesWrites: true
    activity:
      route-leads: { propose: { route: 4 }, approve: 4 }
  - day: 2
    activity:
      route-leads: { propose: { route: 1 } }
  - day: 3
    enable: [route-leads]
    activity:
      route-leads: { propose: { route: 2 }, approve: 2 }
`.replace('lastDay: 30', 'lastDay: 3').replace('start: 2026-11-02', 'start: 2027-02-30');
    const file = join(dir.path, 'outage.yaml');
    writeFileSync(file, script);
    const invalid = await runCli(['simulate', file]);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(/outage\.yaml:\d+:8 start: is not a calendar day; write YYYY-MM-DD/);
    writeFileSync(file, script.replace('start: 2027-02-30', 'start: 2027-02-27'));
    const run = await runCli(['simulate', file, '--json']);
    expect(run.err).toBe('');
    const result = JSON.parse(run.out) as SimulationResult;
    const day = (n: number) => result.days[n]?.workflows[0];
    expect(result.days[1]?.crmRefusesWrites).toBe(true);
    // The third failure trips the breaker, which cancels the fourth, still waiting.
    expect(day(1)).toMatchObject({ approved: 3, failed: 3, alerts: ['breaker_tripped'] });
    expect(day(1)?.events.join('; ')).toMatch(/approve by dana: refused \(ILLEGAL_TRANSITION: .*cancelled/);
    expect(day(2)).toMatchObject({ proposals: 1, approved: 0 });
    expect(day(2)?.events).toEqual(['1 route proposal(s) denied by policy']);
    expect(day(3)).toMatchObject({ approved: 2, failed: 0, events: ['enable by dana: done'] });
  }, 120_000);
});
