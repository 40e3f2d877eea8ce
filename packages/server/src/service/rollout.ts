/**
 * Earned automation, as use cases (the rules are the core's rollout.ts). Invariants:
 * - the write class's mode in force lives in the store; the config is only the starting point:
 *   `mode.write: auto` counts only with an admin's `override` (audited at every start), and
 *   otherwise writes are automated only by a promotion; `high` never is;
 * - a draft executes nothing: its proposals are decided (and recorded) but wait, and approving
 *   one is refused; the workflows configured when this version first starts begin in pilot
 *   that day (audited), later ones as drafts until deployed through the rollout gate;
 * - promotion needs the readiness report to pass (an admin may override, with a reason);
 *   demotion — a day under 90% with enough decisions, or a breaker trip — is at once;
 * - every deploy, promotion, demotion and override is audited, and a refused one changes nothing.
 */
import {
  PortcullisError, ROLLOUT_RULES, approvalRateLow, grantKey, readiness, rolloutGate, stageOf, windowRate,
  type Criterion, type GateEntry, type Mode, type RolloutFacts, type Stage, type WindowFigures,
} from '@portcullis/core';
import type { CompiledWorkflow, PersonConfig } from '../config/compiled.js';
import type { RolloutRecord } from '../store/store.js';
import { raiseAlert } from './alerts.js';
import { visibleWorkflows, type Caller } from './callers.js';
import { addDays, dayOf, workflowFigures } from './daily-metrics.js';
import { workflowOf, type ServiceDeps } from './deps.js';
import { disabledView, type DisabledView } from './disabled-view.js';

/** The write class's mode in force, and whether the workflow is a draft. */
export interface ModeInForce {
  readonly write: Mode;
  readonly draft: boolean;
  readonly record?: RolloutRecord;
}

/** The facts of a stored rollout, with the config's override applied (a demotion outranks it). */
function factsOf(workflow: CompiledWorkflow, record: RolloutRecord | undefined): RolloutFacts {
  const byOverride = workflow.override !== undefined && record?.demotedAt === undefined && record?.writeMode !== 'auto';
  return {
    writeMode: record?.writeMode === 'auto' || byOverride ? 'auto' : 'approval',
    ...(byOverride || record?.byOverride === true ? { byOverride: true } : {}),
    ...(record?.deployedAt === undefined ? {} : { deployedAt: record.deployedAt }),
    ...(record?.promotedAt === undefined ? {} : { promotedAt: record.promotedAt }),
    ...(record?.demotedAt === undefined ? {} : { demotedAt: record.demotedAt }),
  };
}

/** The mode in force for a proposal now (one store read). @throws PortcullisError STORE_UNAVAILABLE */
export async function modeInForce(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<ModeInForce> {
  const record = await deps.store.getRollout(workflow.id);
  const facts = factsOf(workflow, record);
  return { write: facts.writeMode, draft: facts.deployedAt === undefined, ...(record === undefined ? {} : { record }) };
}

/** The window: the last 7 complete calendar days before today, in the gateway's time zone. */
async function windowOf(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<{ from: string; to: string; figures: WindowFigures }> {
  const today = dayOf(deps.clock.now(), deps.config.timeZone);
  const from = addDays(today, -ROLLOUT_RULES.stableWindowDays);
  const to = addDays(today, -1);
  const days = await workflowFigures(deps, workflow.id, from, to);
  const sum = (pick: (d: (typeof days)[number]) => number): number => days.reduce((n, d) => n + pick(d), 0);
  return { from, to, figures: { approved: sum((d) => d.approved), rejected: sum((d) => d.rejected), breakerTrips: sum((d) => d.breakerTrips) } };
}

/** Write-class actions the workflow may run with neither a rollback nor a declared manual fallback. */
function uncoveredWrites(deps: ServiceDeps, workflow: CompiledWorkflow): string[] {
  return [...deps.config.actions.values()]
    .filter((a) => a.risk === 'write' && workflow.grants.has(grantKey(a.system, a.resource, a.verb)) && !a.reversible && a.manualFallback === undefined)
    .map((a) => a.name);
}

/** A workflow's rollout as reports show it. Times are ISO 8601. */
export interface RolloutView {
  readonly workflow: string;
  readonly department: string;
  readonly stage: Stage;
  readonly modes: { readonly read: Mode; readonly write: Mode; readonly high: Mode };
  /** Why the write class is automated or not, in words. */
  readonly why: string;
  readonly override?: { readonly by: string; readonly reason: string };
  readonly deployedAt?: string;
  readonly promotedAt?: string;
  readonly demotedAt?: string;
  /** The last 7 complete days: the figures stability and promotion read. */
  readonly window: { readonly from: string; readonly to: string; readonly approved: number; readonly rejected: number; readonly approvalRate: number | null; readonly breakerTrips: number };
  readonly readiness: { readonly ready: boolean; readonly criteria: readonly Criterion[] };
  /** For a draft: whether the rollout gate lets it deploy now, and why. */
  readonly gate?: { readonly ok: boolean; readonly reason: string };
  /**
   * Set while the workflow, or its agent (`agent` then names it), is switched off by a person or
   * the circuit breaker: it executes nothing, whatever its stage.
   */
  readonly disabled?: DisabledView & { readonly agent?: string };
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** What a workflow's rollout is now: its stored facts, the window's figures and the stage they give. */
interface RolloutState {
  readonly facts: RolloutFacts;
  readonly disabled: (DisabledView & { readonly agent?: string }) | undefined;
  readonly window: Awaited<ReturnType<typeof windowOf>>;
  readonly stage: Stage;
}

async function stateOf(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<RolloutState> {
  const [record, window, off, agentOff] = await Promise.all([
    deps.store.getRollout(workflow.id), windowOf(deps, workflow), deps.store.getDisabled('workflow', workflow.id), deps.store.getDisabled('agent', workflow.agent),
  ]);
  const facts = factsOf(workflow, record);
  const agentView = disabledView(agentOff);
  const disabled = disabledView(off) ?? (agentView === undefined ? undefined : { ...agentView, agent: workflow.agent });
  return { facts, disabled, window, stage: stageOf(facts, deps.clock.now(), window.figures, deps.config.rollout.minDecisions) };
}

/** Every configured workflow's state, by id, read once for a report or the rollout gate. */
async function allStates(deps: ServiceDeps): Promise<Map<string, RolloutState>> {
  const workflows = [...deps.config.workflows.values()];
  const states = await Promise.all(workflows.map((w) => stateOf(deps, w)));
  return new Map(workflows.map((w, i) => [w.id, states[i] as RolloutState]));
}

/** The rollout gate's view of every workflow. */
function gateEntries(deps: ServiceDeps, states: ReadonlyMap<string, RolloutState>): GateEntry[] {
  return [...deps.config.workflows.values()].map((w) => ({ id: w.id, department: w.department, stage: states.get(w.id)?.stage ?? 'draft' }));
}

function whyWrite(workflow: CompiledWorkflow, facts: RolloutFacts): string {
  if (facts.deployedAt === undefined) return 'a draft: nothing executes until it is deployed (portcullis workflows deploy)';
  if (facts.writeMode === 'auto' && facts.byOverride === true && workflow.override !== undefined) return `automated by the config's override (by ${workflow.override.by}: ${workflow.override.reason})`;
  if (facts.writeMode === 'auto') return `automated by promotion on ${iso(facts.promotedAt) ?? '?'}`;
  if (facts.demotedAt !== undefined) return `approval-first since the demotion on ${iso(facts.demotedAt) ?? '?'}`;
  return 'approval-first: writes wait for a person until the workflow is promoted';
}

/** The report of one workflow from its state; a draft's gate from every workflow's stage. */
function viewOf(deps: ServiceDeps, workflow: CompiledWorkflow, state: RolloutState, entries: readonly GateEntry[]): RolloutView {
  const { facts, window, stage } = state;
  const criteria = readiness(facts, deps.clock.now(), window.figures, deps.config.rollout.minDecisions, { uncovered: uncoveredWrites(deps, workflow) });
  const gate = stage === 'draft' ? rolloutGate({ id: workflow.id, department: workflow.department, stage }, entries) : undefined;
  return {
    workflow: workflow.id, department: workflow.department, stage,
    modes: { read: workflow.mode.read, write: facts.writeMode, high: 'approval' },
    why: whyWrite(workflow, facts),
    ...(workflow.override === undefined ? {} : { override: { ...workflow.override } }),
    ...(facts.deployedAt === undefined ? {} : { deployedAt: iso(facts.deployedAt) as string }),
    ...(facts.promotedAt === undefined ? {} : { promotedAt: iso(facts.promotedAt) as string }),
    ...(facts.demotedAt === undefined ? {} : { demotedAt: iso(facts.demotedAt) as string }),
    window: { from: window.from, to: window.to, ...window.figures, approvalRate: windowRate(window.figures) },
    readiness: { ready: criteria.every((c) => c.pass), criteria },
    ...(gate === undefined ? {} : { gate }),
    ...(state.disabled === undefined ? {} : { disabled: state.disabled }),
  };
}

/** The rollout report of one workflow (every workflow's stage is read only for a draft's gate). */
export async function rolloutView(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<RolloutView> {
  const state = await stateOf(deps, workflow);
  const entries = state.stage === 'draft' ? gateEntries(deps, await allStates(deps)) : [];
  return viewOf(deps, workflow, state, entries);
}

/** The rollout reports of the workflows the caller may see. */
export async function rolloutReport(deps: ServiceDeps, caller: Caller): Promise<RolloutView[]> {
  const states = await allStates(deps);
  const entries = gateEntries(deps, states);
  return visibleWorkflows(deps.config, caller).map((id) => viewOf(deps, workflowOf(deps.config, id), states.get(id) as RolloutState, entries));
}

/** One workflow's rollout report for a caller who may see it. @throws PortcullisError WORKFLOW_NOT_FOUND, FORBIDDEN */
export async function rolloutFor(deps: ServiceDeps, caller: Caller, id: string): Promise<RolloutView> {
  const workflow = workflowOf(deps.config, id);
  if (!visibleWorkflows(deps.config, caller).includes(workflow.id)) throw new PortcullisError('FORBIDDEN', `workflow "${id}" is not one of yours`, { workflow: id });
  return rolloutView(deps, workflow);
}

/** A person's deploy or promotion as received. */
export interface RolloutInput {
  readonly reason?: string;
  /** An admin overrides the rollout gate (deploy) or the readiness report (promote); needs a reason. */
  readonly override?: boolean;
}

/** @throws PortcullisError FORBIDDEN unless an admin or a lead of the workflow's department; INVALID_REQUEST for an override without a reason or by a non-admin */
function checkPerson(deps: ServiceDeps, person: PersonConfig, workflow: CompiledWorkflow, verb: string, input: RolloutInput, needReason: boolean): string {
  const leads = deps.config.departments.get(workflow.department)?.leads ?? [];
  if (!person.admin && !leads.includes(person.id)) {
    throw new PortcullisError('FORBIDDEN', `${person.id} may not ${verb} workflow "${workflow.id}": only a lead of department "${workflow.department}" (${leads.join(', ') || 'none'}) or an admin may`, { workflow: workflow.id });
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (input.override === true && !person.admin) throw new PortcullisError('FORBIDDEN', `only an admin may override when they ${verb} a workflow; ${person.id} is not one; nothing was changed`, { workflow: workflow.id });
  if ((needReason || input.override === true) && reason === '') {
    throw new PortcullisError('INVALID_REQUEST', `reason: say why you ${verb} workflow "${workflow.id}"${input.override === true ? ' against the rules (an override is audited)' : ''}; nothing was changed`, { workflow: workflow.id });
  }
  return reason;
}

/**
 * Deploys a draft (draft → pilot), subject to the rollout gate.
 * @throws PortcullisError FORBIDDEN, INVALID_REQUEST (see checkPerson); ILLEGAL_TRANSITION when
 *   it is deployed already; ROLLOUT_GATE_CLOSED naming what blocks it; STORE_UNAVAILABLE.
 */
export async function deployWorkflow(deps: ServiceDeps, person: PersonConfig, id: string, input: RolloutInput): Promise<RolloutView> {
  const workflow = workflowOf(deps.config, id);
  const reason = checkPerson(deps, person, workflow, 'deploy', input, false);
  const stages = gateEntries(deps, await allStates(deps));
  const stage = stages.find((s) => s.id === workflow.id)?.stage ?? 'draft';
  if (stage !== 'draft') throw new PortcullisError('ILLEGAL_TRANSITION', `workflow "${id}" is deployed already (${stage}); nothing was changed`, { workflow: id });
  const gate = rolloutGate({ id: workflow.id, department: workflow.department, stage }, stages);
  if (!gate.ok && input.override !== true) {
    throw new PortcullisError('ROLLOUT_GATE_CLOSED', `workflow "${id}" cannot be deployed now: ${gate.reason}; an admin may override with a reason; nothing was changed`, { workflow: id });
  }
  const now = deps.clock.now();
  const record = await deps.store.getRollout(workflow.id);
  const saved = await deps.store.putRollout({
    workflow: workflow.id, deployedAt: now, writeMode: record?.writeMode ?? 'approval', byOverride: false, version: (record?.version ?? 0) + 1, updatedAt: now,
  }, record?.version ?? 0, [{
    type: 'workflow.deployed', at: now, actor: { kind: 'person', id: person.id }, workflow: workflow.id,
    data: { stage: 'pilot', reason, gate: gate.reason, ...(gate.ok ? {} : { gateOverride: true }) },
  }]);
  if (!saved) throw new PortcullisError('ILLEGAL_TRANSITION', `workflow "${id}" changed a moment ago; look at it again (portcullis workflows show ${id})`, { workflow: id });
  return rolloutView(deps, workflow);
}

/**
 * Promotes a workflow's `write` class to automatic, if its readiness report passes.
 * @throws PortcullisError FORBIDDEN, INVALID_REQUEST (a reason is required); ILLEGAL_TRANSITION
 *   for a draft or a workflow whose writes are automated already; PROMOTION_NOT_READY listing
 *   the failing criteria (an admin may override, with a reason); STORE_UNAVAILABLE.
 */
export async function promoteWorkflow(deps: ServiceDeps, person: PersonConfig, id: string, input: RolloutInput): Promise<RolloutView> {
  const workflow = workflowOf(deps.config, id);
  const reason = checkPerson(deps, person, workflow, 'promote', input, true);
  const view = await rolloutView(deps, workflow);
  if (view.stage === 'draft') throw new PortcullisError('ILLEGAL_TRANSITION', `workflow "${id}" is a draft; deploy it and let it earn automation first; nothing was changed`, { workflow: id });
  if (view.modes.write === 'auto') throw new PortcullisError('ILLEGAL_TRANSITION', `workflow "${id}"'s writes are automated already (${view.why}); nothing was changed`, { workflow: id });
  const failing = view.readiness.criteria.filter((c) => !c.pass);
  if (failing.length > 0 && input.override !== true) {
    throw new PortcullisError('PROMOTION_NOT_READY', `workflow "${id}" is not ready for promotion: ${failing.map((c) => `${c.name} ${c.detail} (needs ${c.needed})`).join('; ')}; nothing was changed`, { workflow: id });
  }
  const now = deps.clock.now();
  const record = await deps.store.getRollout(workflow.id);
  const saved = await deps.store.putRollout({
    workflow: workflow.id, writeMode: 'auto', byOverride: false, promotedAt: now, version: (record?.version ?? 0) + 1, updatedAt: now,
    ...(record?.deployedAt === undefined ? {} : { deployedAt: record.deployedAt }),
    ...(record?.demotedAt === undefined ? {} : { demotedAt: record.demotedAt }),
  }, record?.version ?? 0, [{
    type: 'workflow.promoted', at: now, actor: { kind: 'person', id: person.id }, workflow: workflow.id,
    data: { modes: { write: 'auto' }, reason, criteria: view.readiness.criteria.map((c) => ({ name: c.name, value: c.value, pass: c.pass })), ...(failing.length === 0 ? {} : { readinessOverride: true }) },
  }]);
  if (!saved) throw new PortcullisError('ILLEGAL_TRANSITION', `workflow "${id}" changed a moment ago; look at it again`, { workflow: id });
  return rolloutView(deps, workflow);
}

/**
 * Returns a workflow whose writes are automated to approval-first at once, audited, with a
 * `workflow_demoted` alert. Does nothing when its writes already wait for people.
 * Returns whether it demoted. @throws PortcullisError STORE_UNAVAILABLE
 */
export async function demoteWorkflow(deps: ServiceDeps, workflow: CompiledWorkflow, why: string, data: Readonly<Record<string, string | number | null>>): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const record = await deps.store.getRollout(workflow.id);
    const facts = factsOf(workflow, record);
    if (facts.writeMode !== 'auto') return false;
    const now = deps.clock.now();
    const saved = await deps.store.putRollout({
      workflow: workflow.id, writeMode: 'approval', byOverride: false, demotedAt: now, version: (record?.version ?? 0) + 1, updatedAt: now,
      ...(record?.deployedAt === undefined ? {} : { deployedAt: record.deployedAt }),
      ...(record?.promotedAt === undefined ? {} : { promotedAt: record.promotedAt }),
    }, record?.version ?? 0, [{ type: 'workflow.demoted', at: now, actor: { kind: 'system', id: 'rollout' }, workflow: workflow.id, data: { modes: { write: 'approval' }, why, ...data } }]);
    if (!saved) continue;
    await raiseAlert(deps, {
      kind: 'workflow_demoted', workflow,
      title: `Workflow "${workflow.id}" is approval-first again`,
      message: `Workflow "${workflow.id}"'s writes wait for a person again: ${why}. It may be promoted again after ${ROLLOUT_RULES.repromoteAfterDays} days approval-first with the same rate criteria.`,
      data: { why, ...data },
    }, { kind: 'system', id: 'rollout' });
    return true;
  }
  return false;
}

/** Demotes an automated workflow whose approval rate today or yesterday is under 90% over enough decisions. */
export async function demoteIfRateLow(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<boolean> {
  if ((await modeInForce(deps, workflow)).write !== 'auto') return false;
  const today = dayOf(deps.clock.now(), deps.config.timeZone);
  for (const figures of await workflowFigures(deps, workflow.id, addDays(today, -1), today)) {
    if (figures.approvalRate !== null && approvalRateLow(figures, { below: ROLLOUT_RULES.demoteBelow, minDecisions: deps.config.alerts.approvalRate.minDecisions })) {
      return demoteWorkflow(deps, workflow, `its approval rate was ${(figures.approvalRate * 100).toFixed(1)}% on ${figures.day}, under ${ROLLOUT_RULES.demoteBelow * 100}%`, { day: figures.day, approvalRate: figures.approvalRate });
    }
  }
  return false;
}

/**
 * At start: the first time this version starts on a store, every configured workflow is
 * deployed that day (pilot), audited; and every config override in force is audited.
 * @throws PortcullisError STORE_UNAVAILABLE
 */
export async function recordRolloutAtStart(deps: ServiceDeps): Promise<void> {
  const now = deps.clock.now();
  const workflows = [...deps.config.workflows.values()];
  await deps.store.seedRollouts(
    workflows.map((w) => ({ workflow: w.id, deployedAt: now, writeMode: 'approval' as const, byOverride: false, version: 1, updatedAt: now })), now,
    workflows.map((w) => ({ type: 'workflow.deployed' as const, at: now, actor: { kind: 'system' as const, id: 'rollout' }, workflow: w.id, data: { stage: 'pilot', reason: 'configured when this version first started on this store (a new store, or one upgraded from a version without stages): starts in pilot today' } })),
  );
  const overrides = workflows.filter((w) => w.override !== undefined);
  if (overrides.length === 0) return;
  await deps.store.appendAudit(overrides.map((w) => ({
    type: 'workflow.override' as const, at: now, actor: { kind: 'person' as const, id: w.override?.by ?? '' }, workflow: w.id,
    data: { modes: { write: 'auto' }, reason: w.override?.reason ?? '', source: deps.config.source },
  })));
}
