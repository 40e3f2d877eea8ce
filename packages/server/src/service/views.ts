/**
 * How proposals and audit events look outside the gateway: the API's response shapes (zod,
 * so the OpenAPI document is generated from them) and the CLI's export format. Undo data and
 * credentials stay inside: no view carries them.
 */
import { OUTCOMES, PROPOSAL_STATUSES, RISK_CLASSES } from '@portcullis/core';
import { z } from 'zod';
import type { ProposalRecord, StoredAuditEvent } from '../store/store.js';
import type { RecordChange } from '../connectors/connector.js';

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
  reversible: z.boolean().optional().describe('whether the action can be rolled back (POST /v1/proposals/{id}/rollback)'),
  undo: z.string().optional().describe('how the action is rolled back, or why it cannot be'),
  changes: z.array(z.object({
    record: z.string().describe('the record, as its system names it (`leads 3`)'),
    fields: z.array(z.object({ field: z.string(), old: z.unknown().optional(), new: z.unknown().optional() })),
  })).optional().describe('pending approvals only: what the action would change if approved now, read from the system: each record\'s fields with their current (`old`) and new value side by side; `old` is absent for a record it creates, `new` for one it deletes. Absent when the system cannot read ahead (MCP tools, HTTP operations, email): the params say what is asked'),
}).describe('Proposal');

export type ProposalView = z.infer<typeof proposalView>;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The API view of a proposal, with whether and how its action is rolled back when given.
 * Undo data stays inside the gateway.
 */
export function toProposalView(p: ProposalRecord, reversible?: boolean, undo?: string, changes?: readonly RecordChange[]): ProposalView {
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
    ...(undo === undefined ? {} : { undo }),
    ...(changes === undefined ? {} : { changes: changes.map((c) => ({ record: c.record, fields: c.fields.map((f) => ({ ...f })) })) }),
  };
}

export const auditEventView = z.object({
  seq: z.number(),
  at: z.string(),
  type: z.string(),
  actor: z.object({ kind: z.string(), id: z.string() }),
  workflow: z.string().optional(),
  proposalId: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
  leafHash: z.string().describe('The RFC 6962 leaf hash of the event\'s canonical body, SHA-256(0x00 || body), lowercase hex (docs/audit.md).'),
  treeIndex: z.number().describe('The event\'s leaf index in the audit Merkle tree (docs/audit.md); `?proof=true` or `portcullis audit prove` gives its inclusion proof.'),
}).describe('AuditEvent');

export type AuditEventView = z.infer<typeof auditEventView>;

/** An event's inclusion proof as the API gives it: a document `portcullis audit check-proof` accepts (docs/audit.md). */
export const auditEventProofView = z.object({
  format: z.literal('portcullis-audit-proof/1'),
  seq: z.number(),
  body: z.string().describe('The event\'s canonical body (RFC 8785), exactly as hashed'),
  leafIndex: z.number(),
  treeSize: z.number().describe('The tree size of the signed checkpoint the proof leads to'),
  inclusionProof: z.array(z.string()).describe('RFC 6962 / RFC 9162 inclusion proof: base64 SHA-256 hashes from the leaf up'),
  checkpoint: z.string().describe('The signed checkpoint (C2SP tlog-checkpoint in a C2SP signed note)'),
}).describe('AuditEventProof');

/** An audit event with its inclusion proof, or why it has none yet. */
export const provenAuditEventView = auditEventView.extend({
  proof: auditEventProofView.optional(),
  proofUnavailable: z.string().optional().describe('Why the event has no proof yet (e.g. it is newer than the newest published checkpoint)'),
}).describe('ProvenAuditEvent');

/** The API view of an audit event. */
export function toAuditEventView(e: StoredAuditEvent): AuditEventView {
  return {
    seq: e.seq, at: iso(e.at), type: e.type, actor: { kind: e.actor.kind, id: e.actor.id },
    ...(e.workflow === undefined ? {} : { workflow: e.workflow }),
    ...(e.proposalId === undefined ? {} : { proposalId: e.proposalId }),
    data: e.data, leafHash: e.leafHash, treeIndex: e.treeIndex,
  };
}
