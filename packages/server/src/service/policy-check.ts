/**
 * The policy as the configuration in force decides it (with the write mode in force from the
 * store: earned automation, service/rollout.ts), for a proposal being made and again for
 * an approved proposal about to run. Invariant: both moments ask the same questions — the
 * core's `evaluatePolicy` (agent and workflow enabled, grants, field grants, bounds, mode) and
 * then the connector's own checks (a blocked tool, the data scope) — so a grant, bound or scope
 * revoked or narrowed after a proposal was made is enforced before anything runs.
 */
import { evaluatePolicy, type Decision, type JsonValue } from '@portcullis/core';
import type { CompiledAction, CompiledWorkflow } from '../config/compiled.js';
import { executionContext, type ServiceDeps } from './deps.js';
import { modeInForce } from './rollout.js';

/** What is decided about: who asks, with which params, in which run. */
export interface PolicyQuestion {
  readonly agent: string;
  readonly params: JsonValue;
  readonly runId?: string;
  readonly proposalId: string;
  /**
   * The proposal is already stored (it is being executed): it is left out of the per-run and
   * per-hour counts, which it was part of since it was made.
   */
  readonly stored?: { readonly createdAt: number };
}

async function policyContext(deps: ServiceDeps, workflow: CompiledWorkflow, question: PolicyQuestion) {
  const { bounds } = workflow;
  const since = deps.clock.now() - 3_600_000;
  const [agentOff, workflowOff, run, hour] = await Promise.all([
    deps.store.getDisabled('agent', question.agent),
    deps.store.getDisabled('workflow', workflow.id),
    question.runId !== undefined && bounds.maxActionsPerRun !== undefined
      ? deps.store.countProposals({ workflow: workflow.id, runId: question.runId, excludeDenied: true }) : Promise.resolve(undefined),
    bounds.maxActionsPerHour !== undefined
      ? deps.store.countProposals({ workflow: workflow.id, createdSince: since, excludeDenied: true }) : Promise.resolve(undefined),
  ]);
  const stored = question.stored;
  const actionsThisRun = run === undefined ? undefined : run - (stored === undefined ? 0 : 1);
  const actionsThisHour = hour === undefined ? undefined : hour - (stored !== undefined && stored.createdAt >= since ? 1 : 0);
  return {
    agentActive: agentOff === undefined,
    workflowActive: workflowOff === undefined,
    ...(actionsThisRun === undefined ? {} : { actionsThisRun }),
    ...(actionsThisHour === undefined ? {} : { actionsThisHour }),
  };
}

/**
 * Decides a proposal under the configuration in force now: the core's policy, then (unless it
 * is denied already) the connector's checks of a blocked tool and the data scope.
 * Never throws for a refusal: a refusal is a `deny` decision with its code and reasons.
 */
export async function decideNow(deps: ServiceDeps, workflow: CompiledWorkflow, action: CompiledAction, question: PolicyQuestion): Promise<Decision> {
  const { params } = question;
  // The write class's mode in force is the store's (earned by promotion), not the config's.
  const inForce = await modeInForce(deps, workflow);
  const policy = inForce.write === workflow.mode.write ? workflow : { ...workflow, mode: Object.freeze({ ...workflow.mode, write: inForce.write }) };
  const decided: Decision = evaluatePolicy(policy, {
    agent: question.agent, action, fields: action.spec.touchedFields(params), recordCount: action.spec.recordCount(params),
  }, await policyContext(deps, workflow, question));
  // A draft executes nothing: what would run waits, and approving it is refused until deployed.
  const decision: Decision = inForce.draft && decided.outcome === 'allow'
    ? { ...decided, outcome: 'needs_approval', reasons: [...decided.reasons, `workflow "${workflow.id}" is a draft: nothing executes until it is deployed (portcullis workflows deploy ${workflow.id})`] }
    : decided;
  if (decision.outcome === 'deny') return decision;
  const connector = deps.connectors.get(action.system);
  const blocked = await connector?.blocked?.(action.spec);
  const problems = blocked !== undefined ? [blocked] : connector === undefined
    ? [`system "${action.system}" is not connected`]
    : await connector.precheck(action.spec, params, executionContext(deps, workflow, action, question.proposalId));
  if (problems.length === 0) return decision;
  return { outcome: 'deny', risk: decision.risk, code: blocked !== undefined ? 'TOOL_BLOCKED' : connector === undefined ? 'SYSTEM_UNAVAILABLE' : 'OUTSIDE_SCOPE', reasons: problems };
}
