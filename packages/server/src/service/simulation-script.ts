/**
 * The simulation script (docs/simulate.md): a scripted history — per day, per workflow, what the
 * agent proposes and what people decide, the days the CRM refuses writes, and deploy, promote
 * and enable attempts — with the portcullis.yaml it runs under embedded as `config`.
 * Invariant: a script is either wholly valid (its config compiled, every day in order, every
 * workflow, kind of proposal, action and person it names known) or refused with every problem
 * located as `FILE:LINE:COLUMN path: problem`; a refused script runs nothing.
 */
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import type { CompiledConfig } from '../config/compiled.js';
import { compileConfig } from '../config/compile.js';
import { configErrorMap, formatPath, fromZodIssues, type ConfigIssue, type PathSegment } from '../config/issues.js';
import { locatePath } from '../config/locate.js';
import { didYouMean } from '../config/suggest.js';
import type { SystemKinds } from '../config/system-kind.js';
import { explainYamlErrors } from '../config/yaml-errors.js';

/** The script format's version. */
export const SIMULATION_VERSION = 1;
/** The longest history a script may replay, in days (day 0 to day 366). */
export const MAX_SIMULATION_DAY = 366;
const MAX_PER_DAY = 500;

const count = z.number().int().min(0).max(MAX_PER_DAY);
const dayRef = z.union([
  z.number().int().min(0).max(MAX_SIMULATION_DAY),
  z.string().regex(/^\d+-\d+$/, { error: 'expected a day number (0 is the start day) or a range like "1-13"' }),
]);
const attempt = z.union([
  z.string(),
  z.strictObject({
    workflow: z.string(),
    by: z.string().optional().describe('Who acts (default: the first lead of the workflow\'s department).'),
    reason: z.string().optional(),
    override: z.boolean().optional().describe('An admin overrides the rollout gate or the readiness report.'),
  }),
]);
const activity = z.strictObject({
  propose: z.union([count, z.record(z.string(), count)]).default(0).describe('How many proposals the workflow\'s agent makes: a number (the workflow has one kind) or per kind.'),
  approve: count.default(0).describe('How many waiting proposals people approve, oldest first.'),
  reject: count.default(0).describe('How many waiting proposals people reject, oldest first, after the approvals.'),
});
const step = z.strictObject({
  day: dayRef,
  crmRefusesWrites: z.boolean().default(false).describe('The sample CRM refuses every write that day (its executions fail).'),
  enable: z.array(attempt).default([]),
  deploy: z.array(attempt).default([]),
  promote: z.array(attempt).default([]),
  activity: z.record(z.string(), activity).default({}),
});
const proposalKind = z.strictObject({ action: z.string(), params: z.unknown(), reason: z.string().optional() });
const scriptSchema = z.strictObject({
  version: z.literal(SIMULATION_VERSION, { error: `expected version: ${SIMULATION_VERSION}` }),
  start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected the start day as YYYY-MM-DD' })
    .refine((day) => { const d = new Date(`${day}T00:00:00Z`); return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(day); }, { error: 'is not a calendar day; write YYYY-MM-DD' }).default('2026-11-02'),
  lastDay: z.number().int().min(0).max(MAX_SIMULATION_DAY).optional(),
  config: z.record(z.string(), z.unknown()),
  proposals: z.record(z.string(), z.record(z.string(), proposalKind)).default({}),
  days: z.array(step).min(1),
});

/** A deploy, promote or enable attempt, resolved. */
export interface ScriptAttempt {
  readonly workflow: string;
  readonly by: string;
  readonly reason: string;
  readonly override: boolean;
}

/** What one workflow does on a day. */
export interface ScriptActivity {
  /** Proposals by kind, in the order the script lists them. */
  readonly propose: ReadonlyArray<{ readonly kind: string; readonly count: number }>;
  readonly approve: number;
  readonly reject: number;
}

/** One day of the script (a range in the file is one of these per day). */
export interface ScriptDay {
  readonly day: number;
  readonly crmRefusesWrites: boolean;
  readonly enable: readonly ScriptAttempt[];
  readonly deploy: readonly ScriptAttempt[];
  readonly promote: readonly ScriptAttempt[];
  readonly activity: ReadonlyMap<string, ScriptActivity>;
}

/** A valid script, its config compiled. */
export interface SimulationScript {
  readonly source: string;
  /** Day 0, YYYY-MM-DD in the config's time zone. */
  readonly start: string;
  readonly lastDay: number;
  readonly config: CompiledConfig;
  /** Workflow → kind → what its agent proposes. */
  readonly proposals: ReadonlyMap<string, ReadonlyMap<string, { readonly action: string; readonly params: unknown; readonly reason?: string }>>;
  /** Every day from 0 to lastDay, quiet days included. */
  readonly days: readonly ScriptDay[];
}

export type ParsedScript = { ok: true; script: SimulationScript } | { ok: false; errors: string[] };

/** Keys of the embedded config a simulation sets itself. */
const SET_BY_SIMULATION: Readonly<Record<string, string>> = {
  store: 'a simulation runs on a fresh store of its own (in its run directory); remove config.store',
  envFile: 'a simulation reads no environment file: agents and people need no key or token (nobody signs in); remove config.envFile',
};

/**
 * The config as the simulation compiles it: agents without a key get a throwaway one, and every
 * keyEnv or tokenEnv a throwaway value (nobody signs in to a simulation).
 */
function configInput(config: Record<string, unknown>): { input: Record<string, unknown>; env: Record<string, string> } {
  const env: Record<string, string> = {};
  const throwaway = (): string => randomBytes(16).toString('hex');
  const agents = Object.fromEntries(Object.entries((config.agents ?? {}) as Record<string, unknown>).map(([id, agent]) => {
    if (typeof agent !== 'object' || agent === null) return [id, agent];
    const a = agent as Record<string, unknown>;
    if (typeof a.keyEnv === 'string') env[a.keyEnv] = throwaway();
    return [id, a.keyHash === undefined && a.keyEnv === undefined ? { ...a, keyHash: `sha256:${randomBytes(32).toString('hex')}` } : a];
  }));
  for (const person of Object.values((config.people ?? {}) as Record<string, unknown>)) {
    const env_ = (person as { tokenEnv?: unknown } | null)?.tokenEnv;
    if (typeof env_ === 'string') env[env_] = throwaway();
  }
  return { input: config.agents === undefined ? config : { ...config, agents }, env };
}

function rangeOf(ref: number | string): [number, number] {
  if (typeof ref === 'number') return [ref, ref];
  const [from, to] = ref.split('-').map(Number) as [number, number];
  return [from, to];
}

/**
 * Parses and checks a simulation script; its config is compiled with relative paths resolved
 * against `baseDir` (the run directory). Never throws for a bad script.
 */
export function parseSimulationScript(text: string, options: { source: string; baseDir: string; kinds: SystemKinds }): ParsedScript {
  const { source } = options;
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, errors: explainYamlErrors(doc, text, counter).map((p) => `${source}:${p.line}:${p.column} ${p.message}`) };
  }
  const located = (issues: readonly ConfigIssue[]): ParsedScript => ({
    ok: false,
    errors: issues.map((issue) => {
      const { line, column } = locatePath(doc, counter, issue.path, issue.at);
      return { line, column, text: `${source}:${line}:${column} ${issue.path.length === 0 ? '' : `${formatPath(issue.path)}: `}${issue.message}` };
    }).sort((a, b) => a.line - b.line || a.column - b.column).map((e) => e.text),
  });
  const parsed = scriptSchema.safeParse(doc.toJS(), { error: configErrorMap });
  if (!parsed.success) return located(fromZodIssues(scriptSchema, parsed.error.issues));
  const raw = parsed.data;

  const issues: ConfigIssue[] = Object.keys(SET_BY_SIMULATION).filter((key) => key in raw.config)
    .map((key) => ({ path: ['config', key], message: SET_BY_SIMULATION[key] as string, at: 'key' as const }));
  if (issues.length > 0) return located(issues);
  const { input, env } = configInput(raw.config);
  const compiled = compileConfig(input, { kinds: options.kinds, source, baseDir: options.baseDir, env });
  if (!compiled.ok) return located(compiled.issues.map((issue) => ({ ...issue, path: ['config', ...issue.path] })));
  const config = compiled.config;

  const workflowIssue = (path: PathSegment[], id: string): ConfigIssue | undefined => (config.workflows.has(id) ? undefined
    : { path, message: `"${id}" is not a workflow of config.workflows${didYouMean(id, config.workflows.keys()) || `; the workflows are: ${[...config.workflows.keys()].join(', ') || 'none'}`}` });
  const proposals = new Map<string, Map<string, { action: string; params: unknown; reason?: string }>>();
  for (const [workflow, kinds] of Object.entries(raw.proposals)) {
    const bad = workflowIssue(['proposals', workflow], workflow);
    if (bad !== undefined) { issues.push({ ...bad, at: 'key' }); continue; }
    for (const [kind, spec] of Object.entries(kinds)) {
      if (!config.actions.has(spec.action)) issues.push({ path: ['proposals', workflow, kind, 'action'], message: `no action "${spec.action}" in the config's systems${didYouMean(spec.action, config.actions.keys())}` });
    }
    proposals.set(workflow, new Map(Object.entries(kinds).map(([kind, spec]) => [kind, { action: spec.action, params: spec.params ?? {}, ...(spec.reason === undefined ? {} : { reason: spec.reason }) }])));
  }

  const attemptsOf = (list: ReadonlyArray<z.output<typeof attempt>>, path: PathSegment[], verb: string): ScriptAttempt[] => list.flatMap((a, i) => {
    const spec = typeof a === 'string' ? { workflow: a } : a;
    const at = typeof a === 'string' ? [...path, i] : [...path, i, 'workflow'];
    const bad = workflowIssue(at, spec.workflow);
    if (bad !== undefined) { issues.push(bad); return []; }
    const workflow = config.workflows.get(spec.workflow);
    const by = spec.by ?? config.departments.get(workflow?.department ?? '')?.leads[0] ?? '';
    if (!config.people.has(by)) { issues.push({ path: [...path, i, 'by'], message: `"${by}" is not a person of config.people${didYouMean(by, config.people.keys())}` }); return []; }
    return [{ workflow: spec.workflow, by, reason: spec.reason ?? `${verb} (simulation)`, override: spec.override === true }];
  });

  const byDay = new Map<number, ScriptDay>();
  let previous = -1;
  raw.days.forEach((entry, i) => {
    const [from, to] = rangeOf(entry.day);
    if (to < from || to > MAX_SIMULATION_DAY) { issues.push({ path: ['days', i, 'day'], message: `"${String(entry.day)}" is not a range of days from 0 to ${MAX_SIMULATION_DAY}: write FIRST-LAST with FIRST ≤ LAST` }); return; }
    if (from <= previous) { issues.push({ path: ['days', i, 'day'], message: `day ${from} comes after day ${previous}: list the days in order, each once` }); return; }
    previous = to;
    const activities = new Map<string, ScriptActivity>();
    for (const [workflow, act] of Object.entries(entry.activity)) {
      const bad = workflowIssue(['days', i, 'activity', workflow], workflow);
      if (bad !== undefined) { issues.push({ ...bad, at: 'key' }); continue; }
      const kinds = proposals.get(workflow);
      const propose: Array<{ kind: string; count: number }> = [];
      if (typeof act.propose === 'number') {
        if (act.propose > 0 && kinds?.size !== 1) {
          issues.push({ path: ['days', i, 'activity', workflow, 'propose'], message: kinds === undefined ? `say what workflow "${workflow}" proposes under proposals.${workflow}` : `workflow "${workflow}" proposes ${kinds.size} kinds (${[...kinds.keys()].join(', ')}): give a count per kind` });
          continue;
        }
        if (act.propose > 0) propose.push({ kind: [...(kinds?.keys() ?? [])][0] as string, count: act.propose });
      } else {
        for (const [kind, n] of Object.entries(act.propose)) {
          if (kinds?.has(kind) !== true) { issues.push({ path: ['days', i, 'activity', workflow, 'propose', kind], at: 'key', message: `no kind "${kind}" under proposals.${workflow}${didYouMean(kind, kinds?.keys() ?? [])}` }); continue; }
          propose.push({ kind, count: n });
        }
      }
      activities.set(workflow, { propose, approve: act.approve, reject: act.reject });
    }
    const enable = attemptsOf(entry.enable, ['days', i, 'enable'], 'enable');
    const deploy = attemptsOf(entry.deploy, ['days', i, 'deploy'], 'deploy');
    const promote = attemptsOf(entry.promote, ['days', i, 'promote'], 'promote');
    for (let day = from; day <= to; day += 1) byDay.set(day, { day, crmRefusesWrites: entry.crmRefusesWrites, enable, deploy, promote, activity: activities });
  });
  const lastDay = raw.lastDay ?? previous;
  if (raw.lastDay !== undefined && previous > raw.lastDay) issues.push({ path: ['lastDay'], message: `the days go up to day ${previous}, after lastDay ${raw.lastDay}` });
  if (issues.length > 0) return located(issues);
  const days: ScriptDay[] = [];
  for (let day = 0; day <= lastDay; day += 1) days.push(byDay.get(day) ?? { day, crmRefusesWrites: false, enable: [], deploy: [], promote: [], activity: new Map() });
  return { ok: true, script: { source, start: raw.start, lastDay, config, proposals, days } };
}
