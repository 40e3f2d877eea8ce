/**
 * Flood control: what keeps one looping agent from flooding the approvers or the gateway, the
 * same on every face (it is applied in propose and in MCP tool calls). Invariants: an agent
 * makes at most `limits.proposalsPerMinute` proposals in one minute (rate-limiter.ts: per
 * gateway process, on real time); a proposal that needs approval is refused
 * while its agent or its workflow already has its cap of pending approvals, and each such
 * cap reached raises a `pending_cap_reached` alert (audited, then told through the notifier), once an hour per cap and agent.
 */
import { PortcullisError } from '@portcullis/core';
import type { AgentConfig, CompiledWorkflow } from '../config/compiled.js';
import type { ServiceDeps } from './deps.js';
import { markAudited } from './refusals.js';
import { raiseAlert } from './alerts.js';


/**
 * Counts a proposal of `agent` against `limits.proposalsPerMinute`.
 * @throws PortcullisError RATE_LIMITED with `details.retryAfterSeconds` (whole seconds, at least 1).
 */
export async function takeProposalSlot(deps: ServiceDeps, agent: AgentConfig): Promise<void> {
  const perMinute = deps.config.limits.proposalsPerMinute;
  const taken = await deps.rateLimiter.take(agent.id, perMinute);
  if (taken.ok) return;
  const retryAfterSeconds = Math.ceil(taken.retryAfterMs / 1000);
  throw new PortcullisError('RATE_LIMITED', `agent "${agent.id}" made ${perMinute} proposals in the last minute, the most this gateway takes (limits.proposalsPerMinute); retry after ${retryAfterSeconds} s, and do not loop on a call that keeps failing`, { retryAfterSeconds });
}

/**
 * Refuses a proposal that needs approval while `agent` or `workflow` already has its cap of
 * pending approvals, after raising a `pending_cap_reached` alert naming the cap (once an hour per cap and agent).
 * @throws PortcullisError TOO_MANY_PENDING naming the cap and the fix.
 */
export async function assertPendingRoom(deps: ServiceDeps, agent: AgentConfig, workflow: CompiledWorkflow): Promise<void> {
  const { maxPendingPerAgent, maxPendingPerWorkflow } = deps.config.limits;
  const byAgent = await deps.store.listProposals({ status: 'pending_approval', agent: agent.id, limit: maxPendingPerAgent });
  const byWorkflow = byAgent.length >= maxPendingPerAgent ? [] : await deps.store.listProposals({ status: 'pending_approval', workflows: [workflow.id], limit: maxPendingPerWorkflow });
  const full = byAgent.length >= maxPendingPerAgent
    ? { who: `agent "${agent.id}"`, cap: maxPendingPerAgent, key: 'limits.maxPendingPerAgent' }
    : byWorkflow.length >= maxPendingPerWorkflow ? { who: `workflow "${workflow.id}"`, cap: maxPendingPerWorkflow, key: 'limits.maxPendingPerWorkflow' } : undefined;
  if (full === undefined) return;
  const message = `${full.who} already has ${full.cap} proposals waiting for approval, the most this gateway holds (${full.key}); nothing new is queued until people decide some (\`portcullis approvals list\`), so stop proposing and wait for their decisions`;
  const refusal = new PortcullisError('TOO_MANY_PENDING', message, { cap: full.cap, setting: full.key });
  // One alert per cap and agent an hour, however often a looping agent hits it; later refusals are audited by the face.
  const now = deps.clock.now();
  const recent = await deps.store.queryAudit({ workflows: [workflow.id], types: ['alert.raised'], from: now - 3_600_000, order: 'desc', limit: 200 });
  if (recent.some((e) => e.data.kind === 'pending_cap_reached' && e.data.setting === full.key && e.data.agent === agent.id)) throw refusal;
  await raiseAlert(deps, {
    kind: 'pending_cap_reached', workflow, title: `${full.who} has ${full.cap} proposals waiting for approval`,
    message, data: { agent: agent.id, cap: full.cap, setting: full.key },
  });
  // The alert is this refusal's audit event: faces do not audit it again.
  throw markAudited(refusal);
}
