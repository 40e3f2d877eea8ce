/**
 * Proposing an action. Invariants: bad input (params above limits.paramsBytes included, the
 * same limit for every face) is refused before anything is stored (and
 * audited as `request.invalid` when the agent is known); a proposal is stored with its
 * `proposal.received` and `proposal.decided` events atomically; an allowed proposal is
 * stored as `executing` together with its `execution.started` event, durably, before the
 * connector is called (audit before execution, fail closed); an Idempotency-Key names one
 * proposal forever.
 */
import {
  PortcullisError, proposalDigest, transition, type Actor, type Decision, type JsonValue, type ProposalStatus,
} from '@portcullis/core';
import type { z } from 'zod';
import type { AgentConfig, CompiledAction, CompiledWorkflow } from '../config/compiled.js';
import type { ProposalRecord } from '../store/store.js';
import { assertTrailTrusted, auditPayload, proposalEvent, workflowOf, type ServiceDeps } from './deps.js';
import { decideNow } from './policy-check.js';
import { assertPendingRoom, takeProposalSlot } from './flood-control.js';
import { auditRefusal } from './refusals.js';
import { runExecution, type ExecutionRun } from './execute.js';
import { assertRunStarted } from './runs.js';

/** What an agent sends to propose an action. */
export interface ProposeInput {
  readonly workflow: string;
  readonly action: string;
  readonly params: unknown;
  readonly reason?: string;
  readonly runId?: string;
}

/** How a proposal is made, besides what it asks for. */
export interface ProposeOptions {
  /** Makes a repeated request with the same key return the same proposal (compared by digest). */
  readonly idempotencyKey?: string;
  /**
   * When the proposal is run at once (auto-approved) and its outcome is recorded, advance this
   * call generation in the outcome's transaction: the caller delivers that outcome at once.
   */
  readonly advanceCall?: { readonly call: string; readonly from: number };
  /** The waiting caller's cancellation and progress, for a proposal run at once (ExecutionContext). */
  readonly run?: ExecutionRun;
}

/** The size of params as JSON, in UTF-8 bytes: what `limits.paramsBytes` bounds on every face. */
export function paramsBytes(params: unknown): number {
  return Buffer.byteLength(JSON.stringify(params ?? null), 'utf8');
}

/** How deep params may nest (objects and arrays): far beyond any tool's schema, far below what overflows the stack. */
export const MAX_PARAMS_DEPTH = 100;

/** Whether a JSON value nests objects and arrays deeper than `max` levels, measured without recursion (so any depth is measured). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { value: object; depth: number }[] = typeof value === 'object' && value !== null ? [{ value, depth: 1 }] : [];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (next.depth > max) return true;
    for (const child of Object.values(next.value)) if (typeof child === 'object' && child !== null) stack.push({ value: child as object, depth: next.depth + 1 });
  }
  return false;
}

/** Formats zod issues as `params.path: message` lines. */
export function describeIssues(prefix: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${path}: ${issue.message}`;
  });
}

function resolveAction(deps: ServiceDeps, workflow: CompiledWorkflow, name: string): CompiledAction {
  const action = deps.config.actions.get(name);
  if (action === undefined) {
    const offered = [...deps.config.actions.values()].filter((a) => workflow.systems.includes(a.system)).map((a) => a.name);
    throw new PortcullisError('ACTION_NOT_FOUND', `unknown action "${name}"; actions on the systems of workflow "${workflow.id}": ${offered.join(', ') || '(none)'}`, { action: name });
  }
  return action;
}

/** Records bad input from a known agent, then throws the error. */
async function refuseInput(deps: ServiceDeps, agent: AgentConfig, input: Partial<ProposeInput>, error: PortcullisError): Promise<never> {
  await auditRefusal(deps, { kind: 'agent', id: agent.id }, error, {
    ...(typeof input.workflow === 'string' ? { workflow: input.workflow } : {}),
    ...(typeof input.action === 'string' ? { action: input.action } : {}),
  });
  throw error;
}

/**
 * Validates, decides, stores and (when allowed) executes a proposal.
 * @throws PortcullisError WORKFLOW_NOT_FOUND, ACTION_NOT_FOUND, PARAMS_TOO_LARGE, RUN_NOT_STARTED, INVALID_PARAMS, IDEMPOTENCY_CONFLICT, RATE_LIMITED, TOO_MANY_PENDING, STORE_UNAVAILABLE
 */
export async function propose(deps: ServiceDeps, agent: AgentConfig, input: ProposeInput, options: ProposeOptions = {}): Promise<ProposalRecord> {
  const { idempotencyKey } = options;
  let workflow: CompiledWorkflow;
  let action: CompiledAction;
  try {
    workflow = workflowOf(deps.config, input.workflow);
    action = resolveAction(deps, workflow, input.action);
  } catch (error) {
    return refuseInput(deps, agent, input, error as PortcullisError);
  }
  // Before anything serialises them: params nested thousands deep overflow the stack.
  if (nestsDeeperThan(input.params, MAX_PARAMS_DEPTH)) {
    return refuseInput(deps, agent, input, new PortcullisError('INVALID_PARAMS', `params nest objects or arrays more than ${MAX_PARAMS_DEPTH} levels deep; no action takes that. Nothing was stored`, { maxDepth: MAX_PARAMS_DEPTH }));
  }
  const size = paramsBytes(input.params);
  if (size > deps.config.limits.paramsBytes) {
    return refuseInput(deps, agent, input, new PortcullisError('PARAMS_TOO_LARGE', `params of ${size} bytes (as JSON) are larger than the ${deps.config.limits.paramsBytes} bytes this gateway accepts (limits.paramsBytes); send less (a reference to the data rather than the data), or ask its operator to raise limits.paramsBytes. Nothing was stored`, { bytes: size, limit: deps.config.limits.paramsBytes }));
  }
  if (input.runId !== undefined) {
    try {
      await assertRunStarted(deps, workflow, input.runId);
    } catch (error) {
      return refuseInput(deps, agent, input, error as PortcullisError);
    }
  }
  // Asynchronous: an upstream tool's schema may be checked in a worker thread (connectors/mcp/schema-workers.ts).
  const parsed = await action.spec.params.safeParseAsync(input.params);
  if (!parsed.success) {
    const problems = describeIssues('params', parsed.error.issues);
    return refuseInput(deps, agent, input, new PortcullisError('INVALID_PARAMS', `params do not match action "${action.name}": ${problems.join('; ')}`, { problems }));
  }
  const params = parsed.data as JsonValue;
  const digest = proposalDigest({ workflow: workflow.id, action: action.name, params });

  if (idempotencyKey !== undefined) {
    const existing = await deps.store.findProposalByIdempotencyKey(agent.id, idempotencyKey);
    if (existing !== undefined) return sameOrConflict(existing, digest, idempotencyKey);
  }
  // A retry that attaches to its proposal (above) is not a new proposal: only new ones count.
  try {
    await takeProposalSlot(deps, agent);
  } catch (error) {
    return refuseInput(deps, agent, input, error as PortcullisError);
  }

  const id = deps.ids.next('prop');
  const decision: Decision = await decideNow(deps, workflow, action, {
    agent: agent.id, params, proposalId: id, ...(input.runId === undefined ? {} : { runId: input.runId }),
  });

  const now = deps.clock.now();
  const event = decision.outcome === 'deny' ? 'deny' : decision.outcome === 'allow' ? 'auto_approve' : 'require_approval';
  let status = step('proposed', event);
  if (status === 'approved') status = step(status, 'start_execution');
  if (status === 'pending_approval') await assertPendingRoom(deps, agent, workflow);
  const record: ProposalRecord = {
    id, workflow: workflow.id, action: action.name, agent: agent.id, params, digest, status, decision, createdAt: now, updatedAt: now,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.runId === undefined ? {} : { runId: input.runId }),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    ...(status === 'pending_approval' ? { expiresAt: now + workflow.approvalTimeoutMs } : {}),
  };
  const actor: Actor = { kind: 'agent', id: agent.id };
  const events = [
    proposalEvent('proposal.received', now, actor, record, {
      action: action.name, params: auditPayload(params, 'proposal.params'), reason: input.reason, runId: input.runId, risk: action.risk, riskWhy: action.riskWhy, digest, reversible: action.reversible,
    }),
    proposalEvent('proposal.decided', now, { kind: 'system', id: 'policy' }, record, {
      outcome: decision.outcome, reasons: [...decision.reasons], code: decision.code, status: status === 'executing' ? 'approved' : status,
      ...(status === 'pending_approval' ? { approvers: workflow.department, expiresAt: new Date(record.expiresAt ?? now).toISOString() } : {}),
    }),
  ];
  // Nothing executes while the trail cannot be vouched for (checked before anything is recorded).
  if (status === 'executing') assertTrailTrusted(deps);
  if (status === 'executing') events.push(proposalEvent('execution.started', now, { kind: 'system', id: 'gateway' }, record, { approvedBy: 'policy (auto)' }));

  const { created, proposal } = await deps.store.insertProposal(record, events);
  if (!created) return sameOrConflict(proposal, digest, idempotencyKey ?? '');
  deps.changes.publish({ kind: 'proposal', id: proposal.id, status: proposal.status });
  deps.metrics?.proposalMoved({ workflow: proposal.workflow, status: proposal.status });
  if (proposal.status !== 'executing') return proposal;
  return runExecution(deps, proposal, workflow, action, options.advanceCall === undefined ? undefined : { advanceCall: options.advanceCall }, options.run);
}

function step(status: ProposalStatus, event: Parameters<typeof transition>[1]): ProposalStatus {
  const next = transition(status, event);
  if (!next.ok) throw new PortcullisError('INTERNAL', next.error);
  return next.status;
}

function sameOrConflict(existing: ProposalRecord, digest: string, key: string): ProposalRecord {
  if (existing.digest !== digest) {
    throw new PortcullisError('IDEMPOTENCY_CONFLICT', `Idempotency-Key "${key}" was already used for proposal ${existing.id} with different content; use a new key for a different proposal`, { proposalId: existing.id });
  }
  return existing;
}
