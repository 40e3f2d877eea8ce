/**
 * The one way a refused request from an identified caller is audited. Invariant: every refusal
 * of an agent's or a person's request (bad input, a route for the other kind of caller, a
 * proposal they may not see, an approval they may not give) leaves exactly one audit event:
 * the service audits what it refuses itself and marks the error, and a face audits the rest
 * through `auditRefusal` (which skips marked errors). Unidentified callers are not audited
 * (there is no one to name), nor are our own faults.
 */
import { isPortcullisError, type Actor, type AuditEventType } from '@portcullis/core';
import { dropUndefined, type ServiceDeps } from './deps.js';

const audited = new WeakSet<object>();

/** Codes that mean the caller may not do this, audited as `request.refused`; other refusals are bad input, `request.invalid`. */
const NOT_ALLOWED = new Set(['FORBIDDEN', 'APPROVER_NOT_AUTHORISED']);

/** What a refusal was about, for the audit event. */
export interface RefusalContext {
  readonly workflow?: string;
  readonly action?: string;
  readonly proposalId?: string;
  /** The face's name for what was called, e.g. `POST /v1/approvals/:id/approve` or `mcp tools/call`. */
  readonly route?: string;
}

/** Marks an error as audited already, so a face does not audit it again; returns it. */
export function markAudited<E extends object>(error: E): E {
  audited.add(error);
  return error;
}

/**
 * Audits the refusal of an identified caller's request, once: an error the service already
 * audited, an error that is not the caller's fault, and an unknown error are skipped.
 * Never throws: when the trail cannot be written the refusal still stands (the caller is told).
 */
export async function auditRefusal(deps: ServiceDeps, actor: Actor, error: unknown, context: RefusalContext = {}): Promise<void> {
  if (!isPortcullisError(error) || error.fault !== 'caller' || audited.has(error)) return;
  markAudited(error);
  const type: AuditEventType = NOT_ALLOWED.has(error.code) ? 'request.refused' : 'request.invalid';
  const workflow = context.workflow !== undefined && deps.config.workflows.has(context.workflow) ? context.workflow : undefined;
  await deps.store.appendAudit([{
    type, at: deps.clock.now(), actor,
    ...(workflow === undefined ? {} : { workflow }),
    ...(context.proposalId === undefined ? {} : { proposalId: context.proposalId }),
    data: dropUndefined({ code: error.code, message: error.message.slice(0, 1000), action: context.action?.slice(0, 200), route: context.route }),
  }]).catch(() => undefined);
}
