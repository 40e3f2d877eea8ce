/**
 * Rolling back executed proposals: one, or a whole run in reverse order. Invariants: only a
 * person with the right role rolls back (an admin, a lead or delegate of the workflow's
 * department, or the technical owner of its agent); their act is the approval, so no second
 * person is asked, and it is audited. Everything that can be refused is refused before
 * anything changes (a proposal that is not `succeeded`, an irreversible action, with the
 * workflow's manual fallback named). `rollback.started` is durable before the connector runs;
 * the connector undoes with the gateway's credentials and puts a record back only where it
 * still holds what the action wrote (a record changed since is named as drifted, never
 * overwritten). A proposal something was undone of moves to `rolled_back` with its
 * `rollback.succeeded` event in one commit; a run stops at the first failure and reports what
 * was undone, what drifted and what was not attempted, recorded as `run.rolled_back`.
 */
import { PortcullisError, isSettled, transition, type Actor, type JsonValue } from '@portcullis/core';
import type { CompiledAction, CompiledWorkflow, PersonConfig } from '../config/compiled.js';
import type { DriftedRecord } from '../connectors/connector.js';
import type { ProposalRecord } from '../store/store.js';
import { answersForWorkflow, visibleWorkflows } from './callers.js';
import { assertTrailTrusted, executionContext, proposalEvent, workflowOf, type ServiceDeps } from './deps.js';
import { moveProposal } from './proposal-moves.js';
import { markAudited } from './refusals.js';

/** A person's rollback as received: why, required. */
export interface RollbackInput {
  readonly reason: string;
}

/** What rolling back one proposal did. */
export interface RollbackStep {
  readonly proposalId: string;
  readonly action: string;
  /**
   * `rolled_back`: something was undone (the proposal is now `rolled_back`; records that drifted
   * are listed); `drifted`: every record changed since, nothing was undone (it stays `succeeded`);
   * `failed`: the system failed, see `error` (it stays `succeeded`).
   */
  readonly outcome: 'rolled_back' | 'drifted' | 'failed';
  readonly undone: readonly string[];
  readonly drifted: readonly DriftedRecord[];
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * What a rollback did. `outcome` is `rolled_back` when every record of every attempted proposal
 * was put back, `partial` when some were and others drifted or a failure stopped it, `none`
 * when nothing was undone. `steps` are in the order they ran (a run: newest execution first);
 * `notAttempted` lists the proposals a failure left untouched.
 */
export interface RollbackReport {
  readonly outcome: 'rolled_back' | 'partial' | 'none';
  readonly runId?: string;
  readonly steps: readonly RollbackStep[];
  readonly notAttempted: readonly string[];
}

/** Proposals being rolled back now, per gateway: a second request for one is refused, so a compensating tool is not called twice. */
const inProgress = new WeakMap<ServiceDeps, Set<string>>();

/**
 * Runs `work` holding the proposals `ids` for this gateway, so no other rollback of them runs meanwhile.
 * @throws PortcullisError ILLEGAL_TRANSITION when one of them is being rolled back by another request (nothing changed).
 */
async function holding<T>(deps: ServiceDeps, ids: readonly string[], work: () => Promise<T>): Promise<T> {
  let held = inProgress.get(deps);
  if (held === undefined) { held = new Set(); inProgress.set(deps, held); }
  const busy = ids.filter((id) => held.has(id));
  if (busy.length > 0) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${busy.join(', ')} is being rolled back by another request right now; nothing was changed`, { proposalIds: busy });
  for (const id of ids) held.add(id);
  try {
    return await work();
  } finally {
    for (const id of ids) held.delete(id);
  }
}

function assertRole(deps: ServiceDeps, person: PersonConfig, workflow: CompiledWorkflow, what: string): void {
  if (answersForWorkflow(person, workflow)) return;
  const department = deps.config.departments.get(workflow.department);
  const leads = [...(department?.leads ?? []), ...(department?.delegates ?? [])];
  throw new PortcullisError('FORBIDDEN', `${person.id} may not roll back ${what}: only a lead or delegate of department "${workflow.department}" (${leads.join(', ') || 'none'}), the agent's technical owner (${workflow.approvers.technicalOwner}) or an admin rolls back workflow "${workflow.id}"; nothing was changed`, { workflow: workflow.id });
}

function assertReason(input: RollbackInput): string {
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (reason === '') throw new PortcullisError('INVALID_REQUEST', 'reason: say why you roll back (e.g. "the agent routed the leads to the wrong region"); a rollback needs a reason');
  return reason;
}

/** The action of an executed write, checked to be one the gateway can roll back. @throws PortcullisError NOT_REVERSIBLE, ACTION_NOT_FOUND */
function reversibleAction(deps: ServiceDeps, proposal: ProposalRecord, workflow: CompiledWorkflow): CompiledAction {
  const action = deps.config.actions.get(proposal.action);
  if (action === undefined) throw new PortcullisError('ACTION_NOT_FOUND', `proposal ${proposal.id}: its action "${proposal.action}" is no longer configured, so it cannot be rolled back; nothing was changed`, { proposalId: proposal.id });
  const connector = deps.connectors.get(action.system);
  const why = action.verb === 'read' ? 'a read changes nothing, so there is nothing to roll back'
    : !action.reversible ? `it is irreversible (${action.spec.undo ?? `${action.name} cannot be undone`})`
      : proposal.undo === undefined ? 'no undo data was recorded when it ran (its outcome was resolved by a person, or the system returned none)'
        : connector?.rollback === undefined ? `system "${action.system}" cannot roll back` : undefined;
  if (why === undefined) return action;
  throw new PortcullisError('NOT_REVERSIBLE', `proposal ${proposal.id} (${proposal.action}) cannot be rolled back: ${why}. Manual fallback (workflow "${workflow.id}"): ${workflow.runbook}; nothing was changed`,
    { proposalId: proposal.id, action: proposal.action, runbook: workflow.runbook });
}

/** Undoes one checked proposal; never throws for a connector failure (the step says `failed`). */
async function rollBackOne(deps: ServiceDeps, actor: Actor, proposal: ProposalRecord, workflow: CompiledWorkflow, action: CompiledAction, reason: string): Promise<RollbackStep> {
  const base = { proposalId: proposal.id, action: proposal.action };
  // Durable before the system is touched: a crash mid-rollback leaves a started rollback in the trail.
  await deps.store.appendAudit([proposalEvent('rollback.started', deps.clock.now(), actor, proposal, { reason, runId: proposal.runId })]);
  let done;
  try {
    const connector = deps.connectors.get(action.system);
    if (connector?.rollback === undefined) throw new PortcullisError('UPSTREAM_FAILED', `system "${action.system}" is not connected; nothing was sent`);
    done = await connector.rollback(action.spec, proposal.params, proposal.undo ?? null, proposal.result, executionContext(deps, workflow, action, proposal.id));
  } catch (error) {
    const code = error instanceof PortcullisError ? error.code : 'UPSTREAM_FAILED';
    const message = (error as Error).message;
    await deps.store.appendAudit([proposalEvent('rollback.failed', deps.clock.now(), actor, proposal, { reason, code, message })]);
    return { ...base, outcome: 'failed', undone: [], drifted: [], error: { code, message } };
  }
  const drifted = done.drifted.map((d) => ({ record: d.record, why: d.why }));
  const now = deps.clock.now();
  if (done.undone.length === 0) {
    await deps.store.appendAudit([proposalEvent('rollback.drifted', now, actor, proposal, { reason, drifted })]);
    return { ...base, outcome: 'drifted', undone: [], drifted };
  }
  const saved = await moveProposal(deps, proposal, 'roll_back', { updatedAt: now },
    [proposalEvent('rollback.succeeded', now, actor, proposal, { reason, undone: [...done.undone], drifted, runId: proposal.runId })]);
  if (saved === undefined) {
    const message = `proposal ${proposal.id} was rolled back by another request at the same time; its records were put back once`;
    return { ...base, outcome: 'failed', undone: done.undone, drifted, error: { code: 'ILLEGAL_TRANSITION', message } };
  }
  return { ...base, outcome: 'rolled_back', undone: done.undone, drifted };
}

function reportOf(steps: readonly RollbackStep[], notAttempted: readonly string[], runId?: string): RollbackReport {
  const undone = steps.some((s) => s.undone.length > 0);
  const whole = steps.every((s) => s.outcome === 'rolled_back' && s.drifted.length === 0) && notAttempted.length === 0;
  return { outcome: whole ? 'rolled_back' : undone ? 'partial' : 'none', ...(runId === undefined ? {} : { runId }), steps, notAttempted };
}

function assertSucceeded(proposal: ProposalRecord): void {
  if (transition(proposal.status, 'roll_back').ok) return;
  const already = proposal.status === 'rolled_back' ? ' (it was rolled back already; a proposal is rolled back once)' : '';
  throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${proposal.id} is ${proposal.status}${already}; only a succeeded proposal can be rolled back; nothing was changed`, { proposalId: proposal.id, status: proposal.status });
}

/**
 * Rolls back one executed proposal.
 * @throws PortcullisError PROPOSAL_NOT_FOUND (also for one outside the person's workflows);
 *   FORBIDDEN without the role; INVALID_REQUEST without a reason; ILLEGAL_TRANSITION when it is
 *   not `succeeded` (e.g. rolled back already); NOT_REVERSIBLE naming the manual fallback;
 *   STORE_UNAVAILABLE. Nothing is changed when it throws. A failing system is a `failed` step.
 */
export async function rollbackProposal(deps: ServiceDeps, person: PersonConfig, id: string, input: RollbackInput): Promise<RollbackReport> {
  const proposal = await deps.store.getProposal(id);
  if (proposal === undefined || !visibleWorkflows(deps.config, { kind: 'person', person }).includes(proposal.workflow)) {
    throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`, { proposalId: id });
  }
  const workflow = workflowOf(deps.config, proposal.workflow);
  assertRole(deps, person, workflow, `proposal ${id}`);
  const reason = assertReason(input);
  assertSucceeded(proposal);
  const action = reversibleAction(deps, proposal, workflow);
  assertTrailTrusted(deps);
  const step = await holding(deps, [id], async () => {
    // Read again once held: another request may have rolled it back since it was first read.
    const current = await deps.store.getProposal(id) ?? proposal;
    assertSucceeded(current);
    return rollBackOne(deps, { kind: 'person', id: person.id }, current, workflow, action, reason);
  });
  // The connector found no way back in what the execution recorded: a refusal like any other (audited as rollback.failed).
  if (step.error?.code === 'NOT_REVERSIBLE') {
    throw markAudited(new PortcullisError('NOT_REVERSIBLE', `proposal ${id} (${proposal.action}) cannot be rolled back: ${step.error.message.replace(/; nothing was changed$/, '')}. Manual fallback (workflow "${workflow.id}"): ${workflow.runbook}; nothing was changed`,
      { proposalId: id, action: proposal.action, runbook: workflow.runbook }));
  }
  return reportOf([step], []);
}

/** The order a run's proposals executed in: by the sequence of their execution event. */
async function executionOrder(deps: ServiceDeps, proposals: readonly ProposalRecord[]): Promise<ProposalRecord[]> {
  const seqs = new Map<string, number>();
  for (const p of proposals) {
    const [event] = await deps.store.queryAudit({ proposalId: p.id, types: ['execution.succeeded', 'outcome.resolved'], limit: 1, order: 'desc' });
    seqs.set(p.id, event?.seq ?? 0);
  }
  return [...proposals].sort((a, b) => (seqs.get(a.id) ?? 0) - (seqs.get(b.id) ?? 0) || a.updatedAt - b.updatedAt);
}

/** The most proposals of one run a rollback reads. */
const MAX_RUN_PROPOSALS = 1000;

/**
 * Rolls back every executed write of a run, newest execution first, stopping at the first
 * failure. Refused whole, before anything changes, while a proposal of the run is still open
 * (it could run after the rollback) or when one of its executed writes is irreversible.
 * @throws PortcullisError RUN_NOT_FOUND (also for a run outside the person's workflows);
 *   FORBIDDEN; INVALID_REQUEST; ILLEGAL_TRANSITION when the run has open proposals or nothing
 *   left to roll back; NOT_REVERSIBLE naming each irreversible proposal and the manual fallback;
 *   STORE_UNAVAILABLE.
 */
export async function rollbackRun(deps: ServiceDeps, person: PersonConfig, runId: string, input: RollbackInput): Promise<RollbackReport> {
  const run = await deps.store.getRun(runId);
  if (run === undefined || !visibleWorkflows(deps.config, { kind: 'person', person }).includes(run.workflow)) {
    throw new PortcullisError('RUN_NOT_FOUND', `no run has id "${runId}"`, { runId });
  }
  const workflow = workflowOf(deps.config, run.workflow);
  assertRole(deps, person, workflow, `run ${runId}`);
  const reason = assertReason(input);
  const proposals = await deps.store.listProposals({ runId, limit: MAX_RUN_PROPOSALS });
  const open = proposals.filter((p) => !isSettled(p.status));
  if (open.length > 0) {
    throw new PortcullisError('ILLEGAL_TRANSITION', `run ${runId} has proposals still open (${open.map((p) => `${p.id} ${p.status}`).join(', ')}), which could run after the rollback: reject them or let them settle, then roll back; nothing was changed`, { runId, open: open.map((p) => p.id) });
  }
  const writes = proposals.filter((p) => p.status === 'succeeded' && deps.config.actions.get(p.action)?.verb !== 'read');
  if (writes.length === 0) {
    throw new PortcullisError('ILLEGAL_TRANSITION', `run ${runId} has no succeeded write left to roll back${proposals.some((p) => p.status === 'rolled_back') ? ' (it was rolled back already)' : ''}; nothing was changed`, { runId });
  }
  const checked: { proposal: ProposalRecord; action: CompiledAction }[] = [];
  const irreversible: PortcullisError[] = [];
  for (const proposal of await executionOrder(deps, writes)) {
    try {
      checked.push({ proposal, action: reversibleAction(deps, proposal, workflow) });
    } catch (error) {
      if (!(error instanceof PortcullisError) || error.code !== 'NOT_REVERSIBLE') throw error;
      irreversible.push(error);
    }
  }
  if (irreversible.length > 0) {
    const names = irreversible.map((e) => `${String(e.details.proposalId)} (${String(e.details.action)})`).join(', ');
    throw new PortcullisError('NOT_REVERSIBLE', `run ${runId} cannot be rolled back: ${names} cannot be undone (${irreversible.map((e) => e.message.replace(/^proposal \S+ \(\S+\) cannot be rolled back: /, '').replace(/\. Manual fallback.*$/s, '')).join('; ')}). Roll back its other proposals one by one (portcullis rollback PROPOSAL_ID) and undo these by hand. Manual fallback (workflow "${workflow.id}"): ${workflow.runbook}; nothing was changed`,
      { runId, irreversible: irreversible.map((e) => String(e.details.proposalId)), runbook: workflow.runbook });
  }
  assertTrailTrusted(deps);
  return holding(deps, checked.map((c) => c.proposal.id), () => rollBackChecked(deps, person, workflow, runId, reason, checked));
}

/** Rolls back a run's checked proposals (in execution order), newest first, and records `run.rolled_back`. */
async function rollBackChecked(deps: ServiceDeps, person: PersonConfig, workflow: CompiledWorkflow, runId: string, reason: string, checked: { proposal: ProposalRecord; action: CompiledAction }[]): Promise<RollbackReport> {
  const actor: Actor = { kind: 'person', id: person.id };
  const steps: RollbackStep[] = [];
  // Read again once held: a proposal another request rolled back since is not touched again.
  const still = new Set<string>();
  for (const { proposal } of checked) if ((await deps.store.getProposal(proposal.id))?.status === 'succeeded') still.add(proposal.id);
  const newestFirst = checked.filter((c) => still.has(c.proposal.id)).reverse();
  let stoppedAt = newestFirst.length;
  for (const [index, { proposal, action }] of newestFirst.entries()) {
    const step = await rollBackOne(deps, actor, proposal, workflow, action, reason);
    steps.push(step);
    if (step.outcome === 'failed') { stoppedAt = index + 1; break; }
  }
  const notAttempted = newestFirst.slice(stoppedAt).map((c) => c.proposal.id);
  const report = reportOf(steps, notAttempted, runId);
  const failed = steps.find((s) => s.outcome === 'failed');
  await deps.store.appendAudit([{
    type: 'run.rolled_back', at: deps.clock.now(), actor, workflow: workflow.id,
    data: {
      runId, reason, outcome: report.outcome,
      undone: steps.filter((s) => s.undone.length > 0).map((s) => ({ proposalId: s.proposalId, records: [...s.undone] })),
      drifted: steps.flatMap((s) => s.drifted.map((d) => ({ proposalId: s.proposalId, record: d.record, why: d.why }))),
      ...(failed?.error === undefined ? {} : { failed: { proposalId: failed.proposalId, code: failed.error.code, message: failed.error.message } }),
      notAttempted: [...notAttempted],
    } satisfies Record<string, JsonValue>,
  }]);
  return report;
}
