/**
 * What callers may read: proposals, the approval inbox, workflows and the audit trail, each
 * filtered by the one visibility rule (callers.ts). Invariant: a caller never learns of a
 * proposal, workflow or event outside the workflows they may see: a proposal they may not see
 * is "not found", exactly as one that does not exist.
 */
import { PortcullisError, type AuditEventType, type ProposalStatus } from '@portcullis/core';
import type { CompiledAction, CompiledWorkflow } from '../config/compiled.js';
import type { ProposalRecord, StoredAuditEvent } from '../store/store.js';
import { visibleWorkflows, type Caller } from './callers.js';
import { executionContext, type ServiceDeps } from './deps.js';
import type { RecordChange } from '../connectors/connector.js';
import { expireDue } from './approvals.js';

/** A proposal the caller may see. @throws PortcullisError PROPOSAL_NOT_FOUND when it does not exist or is outside the caller's workflows. */
export async function proposalFor(deps: ServiceDeps, caller: Caller, id: string): Promise<ProposalRecord> {
  const proposal = await deps.store.getProposal(id);
  const visible = proposal !== undefined && (caller.kind === 'agent'
    ? proposal.agent === caller.agent.id
    : visibleWorkflows(deps.config, caller).includes(proposal.workflow));
  if (!visible) throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`, { proposalId: id });
  return proposal;
}

/** Which proposals of the caller's workflows to list. */
export interface ProposalListQuery {
  readonly status: ProposalStatus;
  readonly workflow?: string;
  /** At most this many, 1–1000. */
  readonly limit: number;
}

/** Proposals of the caller's workflows with a status, newest first; pending ones past their time are expired first. */
export async function listProposals(deps: ServiceDeps, caller: Caller, query: ProposalListQuery): Promise<ProposalRecord[]> {
  const visible = visibleWorkflows(deps.config, caller);
  const workflows = query.workflow === undefined ? visible : visible.filter((w) => w === query.workflow);
  if (workflows.length === 0) return [];
  if (query.status === 'pending_approval') await expireDue(deps);
  return deps.store.listProposals({ status: query.status, workflows, limit: query.limit });
}

/** A workflow as a caller sees it: its settings and the actions its systems offer. */
export interface WorkflowView {
  readonly workflow: CompiledWorkflow;
  readonly actions: readonly CompiledAction[];
}

/** The workflows the caller takes part in or may see, with their actions. */
export function listWorkflows(deps: ServiceDeps, caller: Caller): WorkflowView[] {
  const { config } = deps;
  return visibleWorkflows(config, caller).flatMap((id) => {
    const workflow = config.workflows.get(id);
    if (workflow === undefined) return [];
    return [{ workflow, actions: [...config.actions.values()].filter((a) => workflow.systems.includes(a.system)) }];
  });
}

/** A filter of the audit trail, as callers send it. */
export interface AuditQuery {
  readonly workflow?: string;
  readonly proposalId?: string;
  readonly type?: AuditEventType;
  readonly actor?: string;
  /** Events at or after, in milliseconds since the epoch. */
  readonly from?: number;
  /** Events before, in milliseconds since the epoch. */
  readonly to?: number;
  /** Events with a sequence number greater than this. */
  readonly afterSeq?: number;
  readonly limit: number;
}

/**
 * Audit events, oldest first: department leads see their workflows' trail, admins everything.
 * People only (an agent's caller gets FORBIDDEN). @throws PortcullisError FORBIDDEN
 */
export async function queryAudit(deps: ServiceDeps, caller: Caller, query: AuditQuery): Promise<StoredAuditEvent[]> {
  if (caller.kind !== 'person') throw new PortcullisError('FORBIDDEN', 'agents cannot read the audit trail; only people can');
  let workflows: string[] | undefined = caller.person.admin ? undefined : visibleWorkflows(deps.config, caller);
  if (query.workflow !== undefined) workflows = workflows === undefined || workflows.includes(query.workflow) ? [query.workflow] : [];
  if (workflows !== undefined && workflows.length === 0) return [];
  return deps.store.queryAudit({
    limit: query.limit,
    ...(workflows === undefined ? {} : { workflows }),
    ...(query.proposalId === undefined ? {} : { proposalId: query.proposalId }),
    ...(query.type === undefined ? {} : { types: [query.type] }),
    ...(query.actor === undefined ? {} : { actorId: query.actor }),
    ...(query.from === undefined ? {} : { from: query.from }),
    ...(query.to === undefined ? {} : { to: query.to }),
    ...(query.afterSeq === undefined ? {} : { afterSeq: query.afterSeq }),
  });
}

/** The names of the systems a person may check: all for admins, else those of their workflows. */
export function visibleSystems(deps: ServiceDeps, caller: Caller): string[] {
  if (caller.kind === 'person' && caller.person.admin) return [...deps.config.systems.keys()];
  return [...new Set(visibleWorkflows(deps.config, caller).flatMap((id) => deps.config.workflows.get(id)?.systems ?? []))].sort();
}

/**
 * What a proposal would change if it ran now: each record's fields, their current and new values
 * side by side (rule 3), read from the system without changing it. Undefined when the system
 * cannot read ahead (an MCP tool, an HTTP operation, an email) or cannot be read now: then the
 * params alone say what is asked.
 */
export async function previewChanges(deps: ServiceDeps, proposal: ProposalRecord): Promise<RecordChange[] | undefined> {
  const workflow = deps.config.workflows.get(proposal.workflow);
  const action = deps.config.actions.get(proposal.action);
  const connector = action === undefined ? undefined : deps.connectors.get(action.system);
  if (workflow === undefined || action === undefined || connector?.preview === undefined) return undefined;
  try {
    return await connector.preview(action.spec, proposal.params, executionContext(deps, workflow, action, proposal.id));
  } catch {
    return undefined;
  }
}
