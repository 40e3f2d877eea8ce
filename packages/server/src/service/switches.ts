/**
 * Stopping an agent or a workflow: the kill switch (SPEC rule 9) and the circuit breaker
 * (rule 8). Invariants:
 * - a person stops or restarts only what they answer for: an admin anything; a lead or delegate
 *   of the workflow's department (for an agent: of its department or of any of its workflows'),
 *   or the agent's technical owner; anyone else, and every agent, is refused (and audited);
 * - every switch carries a reason, and is saved with its audit event in one commit;
 * - once a workflow or agent is disabled, its next proposal is denied (the policy asks the store
 *   at proposal and again at execution), and what was waiting for a person or about to run is
 *   `cancelled`; an action already executing finishes and is recorded;
 * - the breaker trips when the workflow's executions failed `breakerThreshold` times in a row,
 *   counted from the trail (the core's `breakerTrips`), disables the workflow, and raises an
 *   `alert.raised` event carrying the runbook; only a person enables it again.
 */
import { PortcullisError, breakerTrips, consecutiveFailures, type Actor, type AuditEventDraft, type BreakerEntry, type JsonValue } from '@portcullis/core';
import type { CompiledWorkflow, PersonConfig } from '../config/compiled.js';
import type { DisabledState, ProposalRecord, StoredAuditEvent, SubjectKind } from '../store/store.js';
import { answersForWorkflow, visibleWorkflows, type Caller } from './callers.js';
import { proposalEvent, workflowOf, type ServiceDeps } from './deps.js';
import { moveProposal } from './proposal-moves.js';
import { raiseAlert } from './alerts.js';
import { demoteWorkflow } from './rollout.js';
import { BREAKER, disabledView, type DisabledView } from './disabled-view.js';

/** A person's switch as received. */
export interface SwitchInput {
  /** Why; required, kept in the audit trail and shown by `portcullis status`. */
  readonly reason: string;
}

/** The state of one workflow, as `GET /v1/status` shows it. */
export interface WorkflowStatus {
  readonly id: string;
  readonly department: string;
  readonly agent: string;
  readonly disabled?: DisabledView;
  /** What people do while it is off. */
  readonly runbook: string;
  /** Execution failures in a row now, and how many trip the breaker. */
  readonly breaker: { readonly failures: number; readonly threshold: number };
}

/** The state of one agent, as `GET /v1/status` shows it. */
export interface AgentStatus {
  readonly id: string;
  readonly owner: string;
  readonly disabled?: DisabledView;
}

/** What a switch did. */
export interface SwitchOutcome {
  readonly kind: SubjectKind;
  readonly id: string;
  readonly disabled?: DisabledView;
  /** Ids of the proposals it cancelled (pending approval or approved, not yet executing). */
  readonly cancelled: readonly string[];
}

/** What the caller may see of what is on and off, and the latest alerts. */
export interface GatewayStatus {
  readonly workflows: readonly WorkflowStatus[];
  readonly agents: readonly AgentStatus[];
  /** The newest `alert.raised` events of the caller's workflows, newest first. */
  readonly alerts: readonly StoredAuditEvent[];
}

const BREAKER_TYPES = ['execution.succeeded', 'execution.failed', 'execution.outcome_unknown', 'workflow.enabled'] as const;

/** The workflows an agent serves. */
function workflowsOf(deps: ServiceDeps, agent: string): CompiledWorkflow[] {
  return [...deps.config.workflows.values()].filter((w) => w.agent === agent);
}

/**
 * Whether `person` may stop or restart a workflow or agent (callers.ts answersForWorkflow; for
 * an agent, any of its workflows, or its own department's leads and delegates, or its owner),
 * and the departments concerned, for the refusal's message.
 * @throws PortcullisError WORKFLOW_NOT_FOUND, AGENT_NOT_FOUND
 */
function answers(deps: ServiceDeps, person: PersonConfig, kind: SubjectKind, id: string): { ok: boolean; departments: string[] } {
  const { config } = deps;
  if (kind === 'workflow') {
    const workflow = workflowOf(config, id);
    return { ok: answersForWorkflow(person, workflow), departments: [workflow.department] };
  }
  const agent = config.agents.get(id);
  if (agent === undefined) {
    throw new PortcullisError('AGENT_NOT_FOUND', `unknown agent "${id}"; configured agents: ${[...config.agents.keys()].join(', ') || '(none)'}`, { agent: id });
  }
  const workflows = workflowsOf(deps, id);
  const home = config.departments.get(agent.department);
  const ok = person.admin || agent.owner === person.id || [...(home?.leads ?? []), ...(home?.delegates ?? [])].includes(person.id)
    || workflows.some((w) => answersForWorkflow(person, w));
  return { ok, departments: [...new Set([agent.department, ...workflows.map((w) => w.department)])] };
}

/** @throws PortcullisError AGENT_NOT_FOUND, WORKFLOW_NOT_FOUND, FORBIDDEN, INVALID_REQUEST */
function checkSwitch(deps: ServiceDeps, person: PersonConfig, kind: SubjectKind, id: string, verb: 'disable' | 'enable', input: SwitchInput): string {
  const { ok, departments } = answers(deps, person, kind, id);
  if (!ok) {
    throw new PortcullisError('FORBIDDEN', `${person.id} may not ${verb} ${kind} "${id}": only an admin, a lead or delegate of ${departments.map((d) => `"${d}"`).join(' or ')}, or the agent's technical owner may`, { [kind]: id });
  }
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason === '') {
    throw new PortcullisError('INVALID_REQUEST', `reason: say why you ${verb} ${kind} "${id}" (kept in the audit trail${verb === 'disable' ? ' and shown with the runbook' : ''}); nothing was changed`, { [kind]: id });
  }
  return reason;
}

/**
 * Cancels what of a workflow or agent was waiting for a person or about to run, each audited
 * (`proposal.cancelled`) and announced. A proposal another request moved first is skipped.
 */
async function cancelOpen(deps: ServiceDeps, kind: SubjectKind, id: string, actor: Actor, why: string): Promise<string[]> {
  const filter = kind === 'workflow' ? { workflows: [id] } : { agent: id };
  const code = kind === 'workflow' ? 'WORKFLOW_DISABLED' : 'AGENT_DISABLED';
  const cancelled: string[] = [];
  for (const status of ['pending_approval', 'approved'] as const) {
    for (;;) {
      const batch: ProposalRecord[] = await deps.store.listProposals({ ...filter, status, limit: 500 });
      let moved = 0;
      for (const proposal of batch) {
        const now = deps.clock.now();
        const message = `${kind} "${id}" was disabled (${why}); this proposal will not run`;
        const saved = await moveProposal(deps, proposal, 'cancel', { updatedAt: now, error: { code, message } },
          [proposalEvent('proposal.cancelled', now, actor, proposal, { code, message, was: proposal.status })]);
        if (saved !== undefined) { cancelled.push(saved.id); moved += 1; }
      }
      if (batch.length < 500 || moved === 0) break;
    }
  }
  return cancelled;
}

async function disable(deps: ServiceDeps, kind: SubjectKind, id: string, actor: Actor, reason: string, also: readonly AuditEventDraft[]): Promise<SwitchOutcome> {
  const now = deps.clock.now();
  const state: DisabledState = { by: actor.id, reason, at: now };
  const workflow = kind === 'workflow' ? id : undefined;
  await deps.store.setDisabled(kind, id, state, [
    { type: kind === 'workflow' ? 'workflow.disabled' : 'agent.disabled', at: now, actor, ...(workflow === undefined ? {} : { workflow }), data: { [kind]: id, reason } },
    ...also,
  ]);
  deps.changes.publish({ kind, id, status: 'disabled' });
  const cancelled = await cancelOpen(deps, kind, id, actor, reason);
  return { kind, id, disabled: disabledView(state) as DisabledView, cancelled };
}

/**
 * A person disables a workflow or an agent at once (the kill switch): its next proposal is
 * denied, its pending and approved proposals are cancelled; executing actions finish.
 * @throws PortcullisError WORKFLOW_NOT_FOUND, AGENT_NOT_FOUND; FORBIDDEN (see the module's
 *   invariants); INVALID_REQUEST without a reason; ILLEGAL_TRANSITION when it is disabled
 *   already (nothing changed); STORE_UNAVAILABLE.
 */
export async function disableSubject(deps: ServiceDeps, person: PersonConfig, kind: SubjectKind, id: string, input: SwitchInput): Promise<SwitchOutcome> {
  const reason = checkSwitch(deps, person, kind, id, 'disable', input);
  const current = await deps.store.getDisabled(kind, id);
  if (current !== undefined) {
    throw new PortcullisError('ILLEGAL_TRANSITION', `${kind} "${id}" is disabled already (by ${current.by} since ${new Date(current.at).toISOString()}: ${current.reason}); nothing was changed`, { [kind]: id });
  }
  return disable(deps, kind, id, { kind: 'person', id: person.id }, reason, []);
}

/**
 * A person enables a disabled workflow or agent again, with a reason; the breaker's count
 * starts again from here.
 * @throws PortcullisError as disableSubject; ILLEGAL_TRANSITION when it is not disabled.
 */
export async function enableSubject(deps: ServiceDeps, person: PersonConfig, kind: SubjectKind, id: string, input: SwitchInput): Promise<SwitchOutcome> {
  const reason = checkSwitch(deps, person, kind, id, 'enable', input);
  const current = await deps.store.getDisabled(kind, id);
  if (current === undefined) throw new PortcullisError('ILLEGAL_TRANSITION', `${kind} "${id}" is not disabled; nothing was changed`, { [kind]: id });
  const now = deps.clock.now();
  const workflow = kind === 'workflow' ? id : undefined;
  await deps.store.setDisabled(kind, id, undefined, [{
    type: kind === 'workflow' ? 'workflow.enabled' : 'agent.enabled', at: now, actor: { kind: 'person', id: person.id },
    ...(workflow === undefined ? {} : { workflow }),
    data: { [kind]: id, reason, wasDisabledBy: current.by, wasDisabledFor: current.reason, wasDisabledAt: new Date(current.at).toISOString() },
  }]);
  deps.changes.publish({ kind, id, status: 'enabled' });
  return { kind, id, cancelled: [] };
}

function breakerEntry(event: StoredAuditEvent): BreakerEntry {
  switch (event.type) {
    case 'execution.succeeded': return { kind: 'succeeded' };
    case 'execution.outcome_unknown': return { kind: 'outcome_unknown' };
    case 'execution.failed': return { kind: 'failed', code: typeof event.data.code === 'string' ? event.data.code : 'UPSTREAM_FAILED' };
    default: return { kind: 'reset' };
  }
}

/** The workflow's executions, newest first, back to the last success or re-enable (at most what decides the breaker). */
async function recentOutcomes(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<{ entries: BreakerEntry[]; last?: StoredAuditEvent }> {
  const entries: BreakerEntry[] = [];
  let last: StoredAuditEvent | undefined;
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await deps.store.queryAudit({
      workflows: [workflow.id], types: [...BREAKER_TYPES], order: 'desc', limit: 100, ...(beforeSeq === undefined ? {} : { beforeSeq }),
    });
    for (const event of page) {
      const entry = breakerEntry(event);
      last ??= event;
      entries.push(entry);
      if (entry.kind === 'succeeded' || entry.kind === 'reset') return { entries, ...(last === undefined ? {} : { last }) };
    }
    if (page.length < 100 || breakerTrips(entries, workflow.breakerThreshold)) return { entries, ...(last === undefined ? {} : { last }) };
    beforeSeq = page[page.length - 1]?.seq;
  }
}

/**
 * After an execution of `workflow` failed or its outcome was lost: trips the breaker when the
 * workflow's executions failed `breakerThreshold` times in a row — disables the workflow (as
 * the `breaker`), cancels its pending and approved proposals, and raises an `alert.raised`
 * event (kind `breaker_tripped`) with the numbers and the runbook, addressed to the technical
 * owner and the department's leads. Does nothing if the workflow is disabled already.
 * Returns whether it tripped. @throws PortcullisError STORE_UNAVAILABLE
 */
export async function tripBreakerIfFailing(deps: ServiceDeps, workflowId: string): Promise<boolean> {
  const workflow = deps.config.workflows.get(workflowId);
  if (workflow === undefined) return false;
  const { entries, last } = await recentOutcomes(deps, workflow);
  if (!breakerTrips(entries, workflow.breakerThreshold)) return false;
  if (await deps.store.getDisabled('workflow', workflow.id) !== undefined) return false;
  const failures = consecutiveFailures(entries);
  const lastError: JsonValue = last === undefined ? null : { type: last.type, code: (last.data.code as JsonValue | undefined) ?? null, message: (last.data.message as JsonValue | undefined) ?? null, proposalId: last.proposalId ?? null };
  const reason = `the circuit breaker tripped: ${workflow.breakerThreshold} execution failure${workflow.breakerThreshold === 1 ? '' : 's'} in a row`;
  await disable(deps, 'workflow', workflow.id, BREAKER, reason, []);
  await raiseAlert(deps, {
    kind: 'breaker_tripped', workflow, withRunbook: true,
    title: `Workflow "${workflow.id}" was disabled by its circuit breaker`,
    message: `Workflow "${workflow.id}" was disabled: ${reason}. Follow the runbook until a person enables it again (portcullis enable workflow ${workflow.id} --reason "…"): ${workflow.runbook}`,
    data: { failures, threshold: workflow.breakerThreshold, lastError },
  }, BREAKER);
  await demoteWorkflow(deps, workflow, `its circuit breaker tripped (${failures} execution failures in a row)`, { failures });
  return true;
}

/** What is on and off among the workflows and agents the caller may see, with the runbooks and the latest alerts. */
export async function gatewayStatus(deps: ServiceDeps, caller: Caller): Promise<GatewayStatus> {
  const ids = visibleWorkflows(deps.config, caller);
  const workflows = await Promise.all(ids.map(async (id) => {
    const workflow = workflowOf(deps.config, id);
    const [state, recent] = await Promise.all([deps.store.getDisabled('workflow', id), recentOutcomes(deps, workflow)]);
    const disabled = disabledView(state);
    return {
      id, department: workflow.department, agent: workflow.agent, ...(disabled === undefined ? {} : { disabled }), runbook: workflow.runbook,
      breaker: { failures: consecutiveFailures(recent.entries), threshold: workflow.breakerThreshold },
    };
  }));
  const agentIds = caller.kind === 'agent' ? [caller.agent.id] : [...new Set(ids.map((id) => workflowOf(deps.config, id).agent))];
  const agents = await Promise.all(agentIds.map(async (id) => {
    const disabled = disabledView(await deps.store.getDisabled('agent', id));
    return { id, owner: deps.config.agents.get(id)?.owner ?? '', ...(disabled === undefined ? {} : { disabled }) };
  }));
  const alerts = ids.length === 0 ? [] : await deps.store.queryAudit({ workflows: ids, types: ['alert.raised'], order: 'desc', limit: 20 });
  return { workflows, agents, alerts };
}
