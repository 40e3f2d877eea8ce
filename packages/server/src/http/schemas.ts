/** API payload schemas: the single source for validation, types and the OpenAPI document. */
import { AUDIT_EVENT_TYPES, PROPOSAL_STATUSES } from '@portcullis/core';
import { z } from 'zod';

export { auditEventView, provenAuditEventView, proposalView, toAuditEventView, toProposalView, type AuditEventView, type ProposalView } from '../service/contracts.js';
import { RESOLUTIONS } from '../service/contracts.js';

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

export const resolveBody = z.strictObject({
  as: z.enum(RESOLUTIONS).describe('what the person found in the system: the action took effect (succeeded) or not (failed)'),
  note: z.string().min(1, 'say what you found in the system').max(2000).describe('what the person found in the system; kept in the audit trail'),
});

/** The longest id a path may carry; the router refuses longer path segments before any route runs. */
export const MAX_ID_LENGTH = 100;

export const idParam = z.object({ id: z.string().min(1).max(MAX_ID_LENGTH) });

export const waitQuery = z.object({
  wait: z.coerce.number().min(0).max(60).optional().describe('seconds to wait for the status to change (long-poll), at most 60'),
});

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
  proof: z.enum(['true', 'false']).default('false').describe('true: each event carries its RFC 6962 inclusion proof against the newest published signed checkpoint (docs/audit.md), or why it has none yet'),
});

