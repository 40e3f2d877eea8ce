/**
 * What metrics read from the gateway's state when they are scraped (the core's GaugeSnapshot):
 * pending approvals, disabled workflows and agents, the audit store's state.
 */
import type { GaugeSnapshot } from '@portcullis/core';
import type { ServiceDeps } from './deps.js';

/** Counts the pending approvals of one workflow, page by page. */
async function countPending(deps: ServiceDeps, workflow: string): Promise<number> {
  let count = 0;
  let beforeId: string | undefined;
  for (;;) {
    const page = await deps.store.listProposals({ status: 'pending_approval', workflows: [workflow], limit: 500, ...(beforeId === undefined ? {} : { beforeId }) });
    count += page.length;
    if (page.length < 500) return count;
    beforeId = page[page.length - 1]?.id;
  }
}

/** The gauges now. A store that cannot be read reports itself as not writable; the rest as it can. */
export async function gaugeSnapshot(deps: ServiceDeps): Promise<GaugeSnapshot> {
  const workflows = [...deps.config.workflows.keys()];
  const agents = [...deps.config.agents.keys()];
  const [pending, workflowsOff, agentsOff, head, writable] = await Promise.all([
    Promise.all(workflows.map((w) => countPending(deps, w))),
    Promise.all(workflows.map((w) => deps.store.getDisabled('workflow', w))),
    Promise.all(agents.map((a) => deps.store.getDisabled('agent', a))),
    deps.store.auditHead(),
    deps.store.checkWritable(),
  ]);
  return {
    pendingApprovals: Object.fromEntries(workflows.map((w, i) => [w, pending[i] ?? 0])),
    workflowsDisabled: Object.fromEntries(workflows.map((w, i) => [w, workflowsOff[i] !== undefined])),
    agentsDisabled: Object.fromEntries(agents.map((a, i) => [a, agentsOff[i] !== undefined])),
    auditEvents: head.seq,
    auditWritable: writable.ok,
    auditTrusted: deps.trailGate?.() === undefined,
  };
}
