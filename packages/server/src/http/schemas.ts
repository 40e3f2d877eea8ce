/** API payload schemas: the single source for validation, types and the OpenAPI document. */
import { AUDIT_EVENT_TYPES, OUTCOMES, PROPOSAL_STATUSES, RISK_CLASSES } from '@portcullis/core';
import { z } from 'zod';
import type { ProposalRecord, StoredAuditEvent } from '../store/store.js';

const name = z.string().min(1).max(200);

export const proposeBody = z.strictObject({
  workflow: name.describe('the workflow the action belongs to'),
  action: name.describe('the action type, e.g. crm.leads.update'),
  params: z.record(z.string(), z.unknown()).describe('the action\'s parameters; see the action\'s schema'),
  reason: z.string().max(2000).optional().describe('why the agent proposes this; shown to the approver'),
  runId: z.string().min(1).max(200).optional().describe('the run this action belongs to'),
});

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).optional().describe('repeat a request with the same key to get the same proposal, never a second execution'),
});

export const decisionBody = z.strictObject({
  reason: z.string().max(2000).optional().describe('why; shown in the audit trail'),
  digest: z.string().regex(/^[0-9a-f]{64}$/).optional().describe('the digest of the proposal as shown to the approver; refused if it changed since'),
});

export const rejectBody = decisionBody.extend({ reason: z.string().min(1, 'say why the proposal is rejected').max(2000) });

/** The longest id a path may carry; the router refuses longer path segments before any route runs. */
export const MAX_ID_LENGTH = 100;

export const idParam = z.object({ id: z.string().min(1).max(MAX_ID_LENGTH) });

export const waitQuery = z.object({
  wait: z.coerce.number().min(0).max(60).optional().describe('seconds to wait for the status to change (long-poll), at most 60'),
});

export const proposalView = z.object({
  id: z.string(),
  status: z.enum(PROPOSAL_STATUSES),
  decision: z.object({
    outcome: z.enum(OUTCOMES),
    reasons: z.array(z.string()),
    risk: z.enum(RISK_CLASSES),
    code: z.string().optional(),
  }),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  workflow: z.string(),
  action: z.string(),
  agent: z.string(),
  params: z.unknown(),
  reason: z.string().optional(),
  runId: z.string().optional(),
  digest: z.string().describe('SHA-256 of the canonical (workflow, action, params) an approval binds to'),
  createdAt: z.string(),
  updatedAt: z.string(),
  expiresAt: z.string().optional().describe('when a pending proposal expires without a decision'),
  approval: z.object({ decision: z.enum(['approved', 'rejected']), by: z.string(), reason: z.string(), at: z.string() }).optional(),
  reversible: z.boolean().optional(),
}).describe('Proposal');

export type ProposalView = z.infer<typeof proposalView>;

const iso = (ms: number): string => new Date(ms).toISOString();

/** The API view of a proposal. Undo data stays inside the gateway. */
export function toProposalView(p: ProposalRecord, reversible?: boolean): ProposalView {
  return {
    id: p.id, status: p.status,
    decision: { outcome: p.decision.outcome, reasons: [...p.decision.reasons], risk: p.decision.risk, ...(p.decision.code === undefined ? {} : { code: p.decision.code }) },
    ...(p.result === undefined ? {} : { result: p.result }),
    ...(p.error === undefined ? {} : { error: p.error }),
    workflow: p.workflow, action: p.action, agent: p.agent, params: p.params,
    ...(p.reason === undefined ? {} : { reason: p.reason }),
    ...(p.runId === undefined ? {} : { runId: p.runId }),
    digest: p.digest, createdAt: iso(p.createdAt), updatedAt: iso(p.updatedAt),
    ...(p.expiresAt === undefined ? {} : { expiresAt: iso(p.expiresAt) }),
    ...(p.approval === undefined ? {} : { approval: { decision: p.approval.decision, by: p.approval.by, reason: p.approval.reason, at: iso(p.approval.at) } }),
    ...(reversible === undefined ? {} : { reversible }),
  };
}

export const listApprovalsQuery = z.object({
  status: z.enum(PROPOSAL_STATUSES).default('pending_approval'),
  workflow: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const auditQuery = z.object({
  workflow: z.string().optional(),
  proposalId: z.string().optional(),
  type: z.enum(AUDIT_EVENT_TYPES).optional(),
  actor: z.string().optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('ISO 8601; events at or after'),
  to: z.iso.datetime({ offset: true }).optional().describe('ISO 8601; events before'),
  after: z.coerce.number().int().min(0).optional().describe('cursor: return events with a sequence number greater than this'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const auditEventView = z.object({
  seq: z.number(),
  at: z.string(),
  type: z.string(),
  actor: z.object({ kind: z.string(), id: z.string() }),
  workflow: z.string().optional(),
  proposalId: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
}).describe('AuditEvent');

export type AuditEventView = z.infer<typeof auditEventView>;

/** The API view of an audit event. */
export function toAuditEventView(e: StoredAuditEvent): AuditEventView {
  return {
    seq: e.seq, at: iso(e.at), type: e.type, actor: { kind: e.actor.kind, id: e.actor.id },
    ...(e.workflow === undefined ? {} : { workflow: e.workflow }),
    ...(e.proposalId === undefined ? {} : { proposalId: e.proposalId }),
    data: e.data, prevHash: e.prevHash, hash: e.hash,
  };
}
