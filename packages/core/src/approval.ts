/**
 * Approvals. Invariant: an approval covers exactly one proposal, bound to the SHA-256 digest
 * of its canonical (workflow, action, params); it is single-use, and it fails closed on
 * expiry. Only an authorised person may give one: a lead (or configured delegate) of the
 * workflow's department, never the agent, and never the agent's technical owner unless the
 * workflow allows it (SPEC rules 2 and 3).
 */
import { canonicalJson } from './canonical-json.js';
import { sha256Hex } from './hash.js';

/** What an approval digest covers. */
export interface ProposalContent {
  readonly workflow: string;
  readonly action: string;
  readonly params: unknown;
}

/** The SHA-256 digest of the canonical proposal content. */
export function proposalDigest(content: ProposalContent): string {
  return sha256Hex(canonicalJson({ workflow: content.workflow, action: content.action, params: content.params }));
}

/** Who may approve for a workflow. */
export interface ApproverPolicy {
  readonly department: string;
  /** Leads and delegates of the department, by person id. */
  readonly approvers: ReadonlySet<string>;
  /** The technical owner of the workflow's agent. */
  readonly technicalOwner: string;
  readonly allowOwnerApproval: boolean;
}

/** Checks whether a person may decide on a proposal of a workflow; an error value names why not. */
export function authoriseApprover(policy: ApproverPolicy, personId: string): { ok: true } | { ok: false; error: string } {
  if (personId === policy.technicalOwner && !policy.allowOwnerApproval) {
    return { ok: false, error: `${personId} is the technical owner of this workflow's agent and may not approve its actions (set allowOwnerApproval to change this)` };
  }
  if (!policy.approvers.has(personId)) {
    return { ok: false, error: `${personId} is not a lead or delegate of department "${policy.department}"` };
  }
  return { ok: true };
}

/** An approval as recorded. */
export interface ApprovalRecord {
  readonly proposalId: string;
  readonly digest: string;
  readonly approver: string;
  readonly reason: string;
  readonly decidedAt: number;
  /** When the approval itself lapses if not used; fail closed after. */
  readonly expiresAt: number;
  readonly usedAt?: number;
}

/** Stable codes for why an approval cannot be used. */
export const APPROVAL_REFUSALS = ['APPROVAL_DIGEST_MISMATCH', 'APPROVAL_ALREADY_USED', 'APPROVAL_EXPIRED', 'APPROVAL_WRONG_PROPOSAL'] as const;
export type ApprovalRefusal = (typeof APPROVAL_REFUSALS)[number];

/**
 * Checks that an approval authorises executing `content` as proposal `proposalId` at `now`.
 * Never throws; a refusal names the reason.
 */
export function checkApprovalForExecution(
  approval: ApprovalRecord,
  proposalId: string,
  content: ProposalContent,
  now: number,
): { ok: true } | { ok: false; code: ApprovalRefusal; error: string } {
  if (approval.proposalId !== proposalId) return { ok: false, code: 'APPROVAL_WRONG_PROPOSAL', error: `the approval is for proposal ${approval.proposalId}, not ${proposalId}` };
  if (approval.usedAt !== undefined) return { ok: false, code: 'APPROVAL_ALREADY_USED', error: `the approval of proposal ${proposalId} was already used; approvals are single-use` };
  if (now > approval.expiresAt) return { ok: false, code: 'APPROVAL_EXPIRED', error: `the approval of proposal ${proposalId} expired before execution` };
  const digest = proposalDigest(content);
  if (digest !== approval.digest) {
    return { ok: false, code: 'APPROVAL_DIGEST_MISMATCH', error: `proposal ${proposalId} no longer matches what was approved (digest ${digest.slice(0, 12)}… vs approved ${approval.digest.slice(0, 12)}…); nothing was executed` };
  }
  return { ok: true };
}
