/**
 * Replays a simulation script (simulation-script.ts) through the gateway's own use cases —
 * propose, approve, reject, enable, deploy, promote, expire, evaluate the alert rules — on a
 * real store, moving an injected clock day by day. Invariant: the simulation never writes a
 * stage, a mode or a figure itself; every row it prints is read back from the store the way
 * the reports read it (rolloutView, the daily figures, the audit trail's alerts).
 *
 * A day of the script, in the config's time zone: 08:00 pending proposals past their time
 * expire; 09:00 the enable, deploy and promote attempts, in that order; from 10:00 each
 * workflow's agent proposes (a minute apart) and people approve then reject the waiting
 * proposals, oldest first (the CRM refusing writes all day when the script says so); 23:00 the
 * scheduled alert rules run (which may demote); the day's row is read at 23:59.
 */
import { PortcullisError, type Mode, type Stage } from '@portcullis/core';
import type { CompiledWorkflow, PersonConfig } from '../config/compiled.js';
import { addDays, dayBounds, workflowFigures } from './daily-metrics.js';
import type { GatewayService } from './gateway-service.js';
import { rolloutView } from './rollout.js';
import type { ScriptAttempt, SimulationScript } from './simulation-script.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** What the simulation drives besides the service: the injected clock, and the sample CRM. */
export interface SimulationWorld {
  readonly service: GatewayService;
  /** Sets the injected clock. */
  setTime(ms: number): void;
  /** Makes the sample CRM refuse (or accept again) every write. */
  crmRefusesWrites(refuse: boolean): void;
}

/** One workflow on one day, as read back at the end of the day. */
export interface SimulatedWorkflowDay {
  readonly workflow: string;
  readonly stage: Stage;
  readonly modes: { readonly read: Mode; readonly write: Mode; readonly high: Mode };
  readonly proposals: number;
  readonly approved: number;
  readonly rejected: number;
  readonly autoExecuted: number;
  readonly failed: number;
  /** approved / (approved + rejected) that day; null without decisions. */
  readonly approvalRate: number | null;
  /** The kinds of the alerts raised about it that day. */
  readonly alerts: readonly string[];
  /** For a draft: whether the rollout gate would let it deploy at the end of the day. */
  readonly gate?: 'open' | 'closed';
  /** What people tried that day, and what the gateway answered. */
  readonly events: readonly string[];
}

export interface SimulatedDay {
  readonly day: number;
  readonly date: string;
  readonly crmRefusesWrites: boolean;
  readonly workflows: readonly SimulatedWorkflowDay[];
}

/** A change of a workflow's stage or of its write mode, and the day it was first seen. */
export interface SimulatedChange {
  readonly workflow: string;
  readonly day: number;
  readonly what: 'stage' | 'write';
  readonly from: string;
  readonly to: string;
}

export interface SimulationResult {
  readonly source: string;
  readonly timeZone: string;
  readonly days: readonly SimulatedDay[];
  readonly changes: readonly SimulatedChange[];
}

/** How a simulation ran: its result (and the run directory, kept with --dir), or why the script or the directory was refused (nothing ran). */
export type SimulationOutcome =
  | { ok: true; result: SimulationResult; dir: string; kept: boolean }
  | { ok: false; usage: true; message: string };

function refusal(error: unknown): string {
  return error instanceof PortcullisError ? `${error.code}: ${error.message}` : (error as Error).message;
}

/** Who decides a workflow's proposals: a lead (or delegate) of its department who may. */
function approverOf(world: SimulationWorld, workflow: CompiledWorkflow): PersonConfig | undefined {
  const id = [...workflow.approvers.approvers][0];
  return id === undefined ? undefined : world.service.config.people.get(id);
}

async function attempt(world: SimulationWorld, verb: 'enable' | 'deploy' | 'promote', a: ScriptAttempt): Promise<string> {
  const person = world.service.config.people.get(a.by) as PersonConfig;
  const input = { reason: a.reason, ...(a.override ? { override: true } : {}) };
  try {
    if (verb === 'enable') await world.service.enable(person, 'workflow', a.workflow, input);
    else if (verb === 'deploy') {
      const view = await world.service.deploy(person, a.workflow, input);
      return `deploy by ${a.by}: done, ${view.stage}`;
    } else await world.service.promote(person, a.workflow, input);
    return `${verb} by ${a.by}: done`;
  } catch (error) {
    return `${verb} by ${a.by}: refused (${refusal(error)})`;
  }
}

/** The agent proposes, then people decide the waiting proposals, oldest first. */
async function act(world: SimulationWorld, script: SimulationScript, workflow: CompiledWorkflow, activity: { propose: ReadonlyArray<{ kind: string; count: number }>; approve: number; reject: number }, at: () => number, events: string[]): Promise<void> {
  const { service } = world;
  const agent = service.config.agents.get(workflow.agent);
  if (agent === undefined) return;
  const denied = new Map<string, number>();
  const refusedProposals = new Set<string>();
  for (const { kind, count } of activity.propose) {
    const spec = script.proposals.get(workflow.id)?.get(kind);
    if (spec === undefined) continue;
    for (let i = 0; i < count; i += 1) {
      world.setTime(at());
      try {
        const proposal = await service.propose(agent, { workflow: workflow.id, action: spec.action, params: spec.params, ...(spec.reason === undefined ? {} : { reason: spec.reason }) });
        if (proposal.status === 'denied') denied.set(kind, (denied.get(kind) ?? 0) + 1);
      } catch (error) {
        // A request the service refuses outright (params that do not fit the action…) is the script's to fix: said once a day.
        if (!(error instanceof PortcullisError)) throw error;
        refusedProposals.add(`${kind} proposal refused (${refusal(error)})`);
      }
    }
  }
  for (const [kind, n] of denied) events.push(`${n} ${kind} proposal(s) denied by policy`);
  events.push(...refusedProposals);
  if (activity.approve + activity.reject === 0) return;
  const person = approverOf(world, workflow);
  if (person === undefined) { events.push('nobody may decide its proposals'); return; }
  const waiting = (await service.deps.store.listProposals({ status: 'pending_approval', workflows: [workflow.id], limit: 1000 }))
    .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  const wanted = activity.approve + activity.reject;
  if (waiting.length < wanted) events.push(`only ${waiting.length} proposal(s) waiting for the ${wanted} decision(s) scripted`);
  const refused = new Set<string>();
  for (const [i, proposal] of waiting.slice(0, wanted).entries()) {
    world.setTime(at());
    try {
      if (i < activity.approve) await service.approve(person, proposal.id, { reason: 'approved (simulation)' });
      else await service.reject(person, proposal.id, { reason: 'rejected (simulation)' });
    } catch (error) {
      refused.add(`${i < activity.approve ? 'approve' : 'reject'} by ${person.id}: refused (${refusal(error)})`);
    }
  }
  events.push(...refused);
}

/** Reads a workflow's day back from the store. */
async function readBack(world: SimulationWorld, workflow: CompiledWorkflow, date: string, events: string[]): Promise<SimulatedWorkflowDay> {
  const { deps } = world.service;
  const view = await rolloutView(deps, workflow);
  const [figures] = await workflowFigures(deps, workflow.id, date, date);
  const { start, end } = dayBounds(date, deps.config.timeZone);
  const alerts = (await deps.store.queryAudit({ workflows: [workflow.id], types: ['alert.raised'], from: start, to: end - 1, limit: 1000 }))
    .map((e) => String(e.data.kind));
  return {
    workflow: workflow.id, stage: view.stage, modes: view.modes,
    proposals: figures?.proposals ?? 0, approved: figures?.approved ?? 0, rejected: figures?.rejected ?? 0,
    autoExecuted: figures?.autoExecuted ?? 0, failed: figures?.failed ?? 0, approvalRate: figures?.approvalRate ?? null,
    alerts, ...(view.gate === undefined ? {} : { gate: view.gate.ok ? 'open' as const : 'closed' as const }), events,
  };
}

/**
 * Replays `script` day by day through `world.service`; returns every day's rows and the day
 * of each stage and write-mode change. @throws PortcullisError STORE_UNAVAILABLE
 */
export async function runSimulation(script: SimulationScript, world: SimulationWorld): Promise<SimulationResult> {
  const { config } = world.service;
  const zone = config.timeZone;
  const workflows = [...config.workflows.values()];
  const days: SimulatedDay[] = [];
  const changes: SimulatedChange[] = [];
  const last = new Map<string, { stage: Stage; write: Mode }>();
  for (const scripted of script.days) {
    const date = addDays(script.start, scripted.day);
    const midnight = dayBounds(date, zone).start;
    let tick = 0;
    const at = (base: number) => () => { tick += 1; return midnight + base + tick * MINUTE; };
    world.setTime(midnight + 8 * HOUR);
    await world.service.expireDue();
    const events = new Map<string, string[]>(workflows.map((w) => [w.id, []]));
    const morning = at(9 * HOUR);
    for (const [verb, list] of [['enable', scripted.enable], ['deploy', scripted.deploy], ['promote', scripted.promote]] as const) {
      for (const a of list) {
        world.setTime(morning());
        events.get(a.workflow)?.push(await attempt(world, verb, a));
      }
    }
    world.crmRefusesWrites(scripted.crmRefusesWrites);
    try {
      const day = at(10 * HOUR);
      for (const [id, activity] of scripted.activity) {
        const workflow = config.workflows.get(id);
        if (workflow !== undefined) await act(world, script, workflow, activity, day, events.get(id) ?? []);
      }
    } finally {
      world.crmRefusesWrites(false);
    }
    world.setTime(midnight + 23 * HOUR);
    await world.service.evaluateAlerts();
    world.setTime(dayBounds(date, zone).end - MINUTE);
    const rows: SimulatedWorkflowDay[] = [];
    for (const workflow of workflows) {
      const row = await readBack(world, workflow, date, events.get(workflow.id) ?? []);
      rows.push(row);
      const before = last.get(workflow.id);
      if (before !== undefined && before.stage !== row.stage) changes.push({ workflow: workflow.id, day: scripted.day, what: 'stage', from: before.stage, to: row.stage });
      if (before !== undefined && before.write !== row.modes.write) changes.push({ workflow: workflow.id, day: scripted.day, what: 'write', from: before.write, to: row.modes.write });
      if (before === undefined && row.stage !== 'draft') changes.push({ workflow: workflow.id, day: scripted.day, what: 'stage', from: 'draft', to: row.stage });
      last.set(workflow.id, { stage: row.stage, write: row.modes.write });
    }
    days.push({ day: scripted.day, date, crmRefusesWrites: scripted.crmRefusesWrites, workflows: rows });
  }
  return { source: script.source, timeZone: zone, days, changes };
}
