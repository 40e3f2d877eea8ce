/**
 * Executing approved proposals. Invariants: the connector is called only after the
 * proposal's move to `executing` and its `execution.started` event are durable (if the
 * store cannot be written, nothing runs); a person's approval is checked against a fresh
 * digest of exactly what is about to run, and used once; the policy is asked again under the
 * configuration in force, and a proposal it no longer allows is `cancelled`, never run; the
 * outcome is recorded, and a
 * proposal whose outcome was never recorded (a crash mid-execution) is flagged
 * `outcome_unknown` for a person on the next start. A failed or lost outcome is counted by the
 * circuit breaker (switches.ts), which disables the workflow at its threshold.
 */
import { PortcullisError, checkApprovalForExecution, transition, type JsonValue } from '@portcullis/core';
import type { CompiledAction, CompiledWorkflow } from '../config/compiled.js';
import type { ProposalRecord, ProposalUpdateExtras } from '../store/store.js';
import type { ExecutionContext } from '../connectors/connector.js';
import { assertTrailTrusted, auditPayload, executionContext, proposalEvent, type ServiceDeps } from './deps.js';
import { decideNow } from './policy-check.js';
import { moveProposal } from './proposal-moves.js';
import { tripBreakerIfFailing } from './switches.js';
import { flagWhenWritable } from './unrecorded-outcomes.js';

const GATEWAY = { kind: 'system', id: 'gateway' } as const;

type Outcome =
  | { readonly kind: 'succeeded'; readonly result: JsonValue; readonly undo?: JsonValue }
  | { readonly kind: 'failed' | 'unknown'; readonly code: string; readonly message: string };

/** What the caller waiting for an execution adds to it: its cancellation and a place for the system's progress (an MCP tool call run at once). */
export type ExecutionRun = Pick<ExecutionContext, 'signal' | 'onProgress'>;

/**
 * What the connector's answer means. A write whose outcome the connector cannot know
 * (OUTCOME_UNKNOWN: no answer within the timeout, the connection lost after sending) is unknown,
 * never failed; a read changes nothing, so a read that got no answer simply failed.
 */
async function callConnector(deps: ServiceDeps, proposal: ProposalRecord, workflow: CompiledWorkflow, action: CompiledAction, run: ExecutionRun = {}): Promise<Outcome> {
  const connector = deps.connectors.get(action.system);
  try {
    if (connector === undefined) throw new PortcullisError('UPSTREAM_FAILED', `system "${action.system}" is not connected; nothing was sent`);
    const done = await connector.execute(action.spec, proposal.params, { ...executionContext(deps, workflow, action, proposal.id), ...run });
    return { kind: 'succeeded', result: done.result, ...(done.undo === undefined ? {} : { undo: done.undo }) };
  } catch (error) {
    const code = error instanceof PortcullisError ? error.code : 'UPSTREAM_FAILED';
    const message = (error as Error).message;
    if (code !== 'OUTCOME_UNKNOWN') return { kind: 'failed', code, message };
    // A read changes nothing: its failure is known, and the message does not say otherwise.
    return action.verb === 'read'
      ? { kind: 'failed', code: 'UPSTREAM_FAILED', message: message.replace(/; [^;]*whether (the tool|it) took effect is unknown$/, '') }
      : { kind: 'unknown', code, message };
  }
}

/**
 * Runs a proposal that is durably `executing` and records its outcome: `succeeded`, `failed`
 * (the system's answer proves nothing took effect) or `outcome_unknown` (it may have).
 * Never throws for connector failures.
 * @throws PortcullisError OUTCOME_UNKNOWN when the connector ran but its outcome could not be
 *   recorded (the store failed): the proposal is flagged outcome_unknown once the store is
 *   writable again, without a restart.
 */
export async function runExecution(deps: ServiceDeps, proposal: ProposalRecord, workflow: CompiledWorkflow, action: CompiledAction, also?: ProposalUpdateExtras, run?: ExecutionRun): Promise<ProposalRecord> {
  const outcome = await callConnector(deps, proposal, workflow, action, run);
  const now = deps.clock.now();
  let saved: ProposalRecord | undefined;
  try {
    saved = outcome.kind === 'succeeded'
      ? await moveProposal(deps, proposal, 'succeed', {
        updatedAt: now, result: outcome.result, ...(outcome.undo === undefined ? {} : { undo: outcome.undo }),
      }, [proposalEvent('execution.succeeded', now, GATEWAY, proposal, { result: auditPayload(outcome.result, 'proposal.result'), undo: outcome.undo ?? null, reversible: action.reversible })], also)
      : outcome.kind === 'unknown'
        ? await moveProposal(deps, proposal, 'lose_outcome', {
          updatedAt: now, error: { code: outcome.code, message: outcome.message },
        }, [proposalEvent('execution.outcome_unknown', now, GATEWAY, proposal, { code: outcome.code, message: outcome.message })], also)
        : await moveProposal(deps, proposal, 'fail', {
          updatedAt: now, error: { code: outcome.code, message: outcome.message },
        }, [proposalEvent('execution.failed', now, GATEWAY, proposal, { code: outcome.code, message: outcome.message })], also);
  } catch (error) {
    if (!(error instanceof PortcullisError) || error.code !== 'STORE_UNAVAILABLE') throw error;
    const reported: Record<string, JsonValue> = outcome.kind === 'succeeded'
      ? { reported: 'succeeded', result: outcome.result } : { reported: outcome.kind, code: outcome.code, message: outcome.message };
    flagWhenWritable(deps, proposal, reported);
    throw new PortcullisError('OUTCOME_UNKNOWN', `proposal ${proposal.id} (${action.name}) was sent to system "${action.system}"${outcome.kind === 'succeeded' ? ', which reported success,' : ''} but its outcome could not be recorded (${error.message.replace(/; nothing was executed$/, '')}); whether it took effect is unknown. `
      + 'The proposal is flagged outcome_unknown for a person as soon as the store is writable again. Do not propose it again under a new Idempotency-Key; re-sending with the same key runs nothing', { proposalId: proposal.id }, { cause: error });
  }
  if (saved === undefined) throw new PortcullisError('INTERNAL', `proposal ${proposal.id} left executing while its outcome was being recorded`);
  if (outcome.kind !== 'succeeded') await tripBreakerIfFailing(deps, proposal.workflow);
  return saved;
}

/** Moves an approved proposal to `cancelled` with why, audited as `execution.refused`; returns it as saved. */
async function cancelApproved(deps: ServiceDeps, proposal: ProposalRecord, code: string, message: string, data: Record<string, JsonValue> = {}): Promise<ProposalRecord> {
  const now = deps.clock.now();
  const saved = await moveProposal(deps, proposal, 'cancel', { updatedAt: now, error: { code, message } },
    [proposalEvent('execution.refused', now, GATEWAY, proposal, { code, message, ...data })]);
  if (saved === undefined) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${proposal.id} was executed or cancelled by another request; nothing was executed twice`);
  return saved;
}

/**
 * Executes a proposal a person approved: checks the approval against what is stored now, asks
 * the policy again under the configuration in force (agent and workflow enabled, grants,
 * bounds, data scope), marks the approval used and moves to `executing` (durably, with its
 * event), then runs it. A proposal the configuration in force no longer allows is not run: it
 * is returned `cancelled`, with the policy's code and reasons as its error, and the refusal is
 * audited (`execution.refused`).
 * @throws PortcullisError ILLEGAL_TRANSITION when it is not approved, APPROVAL_* when the
 *   approval cannot be used (the proposal is then cancelled and the refusal audited),
 *   STORE_UNAVAILABLE when the store cannot be written (nothing runs).
 */
export async function executeApproved(deps: ServiceDeps, id: string): Promise<ProposalRecord> {
  const proposal = await deps.store.getProposal(id);
  if (proposal === undefined) throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`);
  if (!transition(proposal.status, 'start_execution').ok) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} is ${proposal.status}, not approved; nothing was executed`, { status: proposal.status });
  assertTrailTrusted(deps);
  const approval = proposal.approval;
  if (approval === undefined) throw new PortcullisError('INTERNAL', `approved proposal ${id} has no recorded approval`);
  const workflow = deps.config.workflows.get(proposal.workflow);
  const action = deps.config.actions.get(proposal.action);
  if (workflow === undefined || action === undefined) {
    const what = workflow === undefined ? `its workflow "${proposal.workflow}"` : `its action "${proposal.action}"`;
    return cancelApproved(deps, proposal, workflow === undefined ? 'WORKFLOW_NOT_FOUND' : 'ACTION_NOT_FOUND',
      `${what} is no longer configured; nothing was executed`);
  }
  const now = deps.clock.now();
  const check = checkApprovalForExecution(
    { proposalId: id, digest: approval.digest, approver: approval.by, reason: approval.reason, decidedAt: approval.at, expiresAt: approval.expiresAt, ...(approval.usedAt === undefined ? {} : { usedAt: approval.usedAt }) },
    id, { workflow: proposal.workflow, action: proposal.action, params: proposal.params }, now,
  );
  if (!check.ok) {
    await cancelApproved(deps, proposal, check.code, check.error);
    throw new PortcullisError(check.code, check.error, { proposalId: id });
  }
  const decision = await decideNow(deps, workflow, action, {
    agent: proposal.agent, params: proposal.params, proposalId: id, stored: { createdAt: proposal.createdAt },
    ...(proposal.runId === undefined ? {} : { runId: proposal.runId }),
  });
  if (decision.outcome === 'deny') {
    const code = decision.code ?? 'GRANT_DENIED';
    return cancelApproved(deps, proposal, code,
      `the configuration in force no longer allows this action: ${decision.reasons.join('; ')}; nothing was executed`,
      { reasons: [...decision.reasons] });
  }
  const started = await moveProposal(deps, proposal, 'start_execution', { updatedAt: now, approval: { ...approval, usedAt: now } },
    [proposalEvent('execution.started', now, GATEWAY, proposal, { approvedBy: approval.by, digest: approval.digest })]);
  if (started === undefined) throw new PortcullisError('ILLEGAL_TRANSITION', `proposal ${id} was executed or cancelled by another request; nothing was executed twice`);
  return runExecution(deps, started, workflow, action);
}

/**
 * After a restart: flags proposals left `executing` as `outcome_unknown` (a person must check
 * the system), and executes approved proposals whose execution never started.
 */
export async function recoverInterrupted(deps: ServiceDeps): Promise<{ flagged: number; resumed: number }> {
  let flagged = 0;
  const executing = await deps.store.listExecuting();
  for (const proposal of executing) {
    const now = deps.clock.now();
    const saved = await moveProposal(deps, proposal, 'lose_outcome', {
      updatedAt: now, error: { code: 'OUTCOME_UNKNOWN', message: 'the gateway stopped while this action was executing; check the system and resolve the proposal' },
    }, [proposalEvent('execution.outcome_unknown', now, GATEWAY, proposal, { message: 'the gateway stopped while this action was executing' })]);
    if (saved !== undefined) flagged += 1;
  }
  for (const workflow of new Set(executing.map((p) => p.workflow))) await tripBreakerIfFailing(deps, workflow);
  let resumed = 0;
  // While the trail cannot be vouched for, approved proposals wait (they resume once it can).
  if (deps.trailGate?.() !== undefined) return { flagged, resumed };
  for (const proposal of await deps.store.listProposals({ status: 'approved', limit: 1000 })) {
    try {
      const done = await executeApproved(deps, proposal.id);
      if (done.status !== 'cancelled') resumed += 1;
    } catch (error) {
      if (!(error instanceof PortcullisError) || error.code === 'STORE_UNAVAILABLE') throw error;
    }
  }
  return { flagged, resumed };
}
