/**
 * Audit event drafts shaped like the gateway's own: the four events of an auto-approved
 * update (proposal.received with its params, proposal.decided, execution.started,
 * execution.succeeded with its before-image), over 50 workflows. Deterministic in `i`, so a
 * cached database can be extended and re-checked.
 */

/** Workflows the generated trail spreads over. */
export const WORKFLOWS = 50;

const REPS = ['rep-amara', 'rep-jordan', 'rep-kenji'];

/** The draft of event number `i` (0-based) at time `at`. */
export function eventDraft(i, at) {
  const proposal = Math.floor(i / 4);
  const workflow = `wf-${proposal % WORKFLOWS}`;
  const proposalId = `prop_${proposal.toString(36).padStart(8, '0')}`;
  const lead = 1 + (proposal % 5000);
  const rep = REPS[proposal % 3];
  const agent = { kind: 'agent', id: `agent-${proposal % WORKFLOWS}` };
  switch (i % 4) {
    case 0:
      return {
        type: 'proposal.received', at, actor: agent, workflow, proposalId,
        data: {
          action: 'crm.leads.update', params: { ids: [lead], set: { owner_id: rep } }, reason: `region emea belongs to ${rep}`,
          risk: 'write', riskWhy: 'updates records', digest: 'c5d0a6f1e9b24d7a8f3b6c1e0d9a7b5c3e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b', reversible: true,
        },
      };
    case 1:
      return {
        type: 'proposal.decided', at, actor: { kind: 'system', id: 'policy' }, workflow, proposalId,
        data: { outcome: 'allow', reasons: [`granted to workflow "${workflow}"`, 'write actions run without approval in this workflow'], status: 'approved' },
      };
    case 2:
      return { type: 'execution.started', at, actor: { kind: 'system', id: 'gateway' }, workflow, proposalId, data: { approvedBy: 'policy (auto)' } };
    default:
      return {
        type: 'execution.succeeded', at, actor: { kind: 'system', id: 'gateway' }, workflow, proposalId,
        data: { result: { updated: 1, ids: [lead] }, undo: { kind: 'sql.update', table: 'leads', primaryKey: 'id', before: [{ id: lead, owner_id: null }] }, reversible: true },
      };
  }
}
