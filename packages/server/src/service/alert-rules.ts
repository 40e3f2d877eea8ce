/**
 * The alerts the gateway raises on its own schedule (every `alerts.evaluateEvery`): a
 * workflow's approval rate below `alerts.approvalRate.below` over a day with at least
 * `minDecisions` decisions (today so far, and yesterday once it is complete), and a proposal
 * waiting in `outcome_unknown` longer than `alerts.outcomeUnknownAfter`. Invariant: each is
 * raised once — per workflow and day, per proposal — however often the rules are evaluated;
 * the trail is what remembers it.
 */
import { approvalRateLow } from '@portcullis/core';
import type { CompiledWorkflow } from '../config/compiled.js';
import { raiseAlert } from './alerts.js';
import { demoteIfRateLow } from './rollout.js';
import { addDays, dayBounds, dayOf, workflowFigures } from './daily-metrics.js';
import type { ServiceDeps } from './deps.js';

const percent = (rate: number): string => `${(rate * 100).toFixed(1).replace(/\.0$/, '')}%`;

/** Whether an alert of `kind` matching `same` was raised about `workflow` since `since`. */
async function raisedAlready(deps: ServiceDeps, workflow: CompiledWorkflow, since: number, same: (data: Readonly<Record<string, unknown>>) => boolean): Promise<boolean> {
  const raised = await deps.store.queryAudit({ workflows: [workflow.id], types: ['alert.raised'], from: since, limit: 1000 });
  return raised.some((event) => same(event.data));
}

async function checkApprovalRate(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<number> {
  const zone = deps.config.timeZone;
  const today = dayOf(deps.clock.now(), zone);
  const rule = deps.config.alerts.approvalRate;
  let raised = 0;
  for (const figures of await workflowFigures(deps, workflow.id, addDays(today, -1), today)) {
    if (!approvalRateLow(figures, rule) || figures.approvalRate === null) continue;
    const { day } = figures;
    if (await raisedAlready(deps, workflow, dayBounds(day, zone).start, (d) => d.kind === 'approval_rate_low' && d.day === day)) continue;
    const decisions = figures.approved + figures.rejected;
    await raiseAlert(deps, {
      kind: 'approval_rate_low', workflow,
      title: `Workflow "${workflow.id}": approval rate ${percent(figures.approvalRate)} on ${day}`,
      message: `People approved ${figures.approved} of ${decisions} proposals of workflow "${workflow.id}" on ${day}${day === today ? ' so far' : ''} (${percent(figures.approvalRate)}, below ${percent(rule.below)}). The agent is proposing things people do not want: investigate now (the rejections' reasons are in the audit trail), and disable the workflow if it keeps on.`,
      data: { day, approvalRate: figures.approvalRate, approved: figures.approved, rejected: figures.rejected, below: rule.below, minDecisions: rule.minDecisions },
    });
    raised += 1;
  }
  return raised;
}

async function checkUnknownOutcomes(deps: ServiceDeps, workflow: CompiledWorkflow): Promise<number> {
  const now = deps.clock.now();
  const after = deps.config.alerts.outcomeUnknownAfterMs;
  let raised = 0;
  for (const proposal of await deps.store.listProposals({ status: 'outcome_unknown', workflows: [workflow.id], limit: 500 })) {
    if (proposal.updatedAt > now - after) continue;
    if (await raisedAlready(deps, workflow, proposal.updatedAt, (d) => d.kind === 'outcome_unknown_waiting' && d.proposalId === proposal.id)) continue;
    const minutes = Math.floor((now - proposal.updatedAt) / 60_000);
    await raiseAlert(deps, {
      kind: 'outcome_unknown_waiting', workflow, proposalId: proposal.id,
      title: `Proposal ${proposal.id} (${proposal.action}) has waited ${minutes} min for a person to check the system`,
      message: `Whether proposal ${proposal.id} (${proposal.action}) took effect is unknown since ${new Date(proposal.updatedAt).toISOString()}. Check the system, then resolve it: portcullis proposals resolve ${proposal.id} --as succeeded|failed --note "what you found" (docs/resolving-outcomes.md).`,
      data: { proposalId: proposal.id, action: proposal.action, since: new Date(proposal.updatedAt).toISOString(), waitingMinutes: minutes },
    });
    raised += 1;
  }
  return raised;
}

/**
 * Evaluates the scheduled alert rules for every workflow; returns how many alerts it raised.
 * @throws PortcullisError STORE_UNAVAILABLE
 */
export async function evaluateAlerts(deps: ServiceDeps): Promise<number> {
  let raised = 0;
  for (const workflow of deps.config.workflows.values()) {
    raised += await checkApprovalRate(deps, workflow);
    await demoteIfRateLow(deps, workflow);
    raised += await checkUnknownOutcomes(deps, workflow);
  }
  return raised;
}
