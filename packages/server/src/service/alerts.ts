/**
 * Raising an alert. Invariant: every alert is first an audited `alert.raised` event (kind,
 * workflow, numbers, runbook, who it is for), durable before anyone is told; then it is handed
 * to the notifier, which delivers it on its own (a failing channel never fails the act that
 * raised the alert). Alerts are for the workflow's agent's technical owner and its department's
 * leads.
 */
import { parseAuditBody, type Actor, type Alert, type AlertKind, type AuditEventDraft, type JsonValue } from '@portcullis/core';
import type { CompiledWorkflow } from '../config/compiled.js';
import type { ServiceDeps } from './deps.js';

/** An alert before it is raised. */
export interface AlertDraft {
  readonly kind: AlertKind;
  readonly workflow?: CompiledWorkflow;
  readonly title: string;
  readonly message: string;
  /** The numbers behind it (JSON). */
  readonly data: Readonly<Record<string, JsonValue>>;
  /** Include the workflow's runbook (the manual fallback) with the alert. */
  readonly withRunbook?: boolean;
  /** The proposal it is about, if one. */
  readonly proposalId?: string;
}

/** The people an alert about `workflow` is for: its agent's technical owner and its department's leads (every admin without a workflow). */
export function alertRecipients(deps: ServiceDeps, workflow: CompiledWorkflow | undefined): string[] {
  if (workflow === undefined) return [...deps.config.people.values()].filter((p) => p.admin).map((p) => p.id);
  const owner = deps.config.agents.get(workflow.agent)?.owner;
  const leads = deps.config.departments.get(workflow.department)?.leads ?? [];
  return [...new Set([...(owner === undefined ? [] : [owner]), ...leads])];
}

/** The `alert.raised` event of a draft, to be saved with what caused it (in the same commit). */
export function alertEvent(deps: ServiceDeps, draft: AlertDraft, actor: Actor): AuditEventDraft {
  const { workflow } = draft;
  return {
    type: 'alert.raised', at: deps.clock.now(), actor,
    ...(workflow === undefined ? {} : { workflow: workflow.id }),
    ...(draft.proposalId === undefined ? {} : { proposalId: draft.proposalId }),
    data: {
      ...draft.data,
      kind: draft.kind, title: draft.title, message: draft.message,
      ...(workflow === undefined ? {} : { workflow: workflow.id }),
      ...(draft.withRunbook === true && workflow !== undefined ? { runbook: workflow.runbook } : {}),
      to: alertRecipients(deps, workflow),
    },
  };
}

/** Hands a saved `alert.raised` event to the notifier. Never throws. */
export function notifyAlert(deps: ServiceDeps, event: { readonly seq: number; readonly at: number; readonly workflow?: string; readonly data: { readonly [key: string]: JsonValue } }): void {
  if (deps.notifier === undefined) return;
  const { data } = event;
  const alert: Alert = {
    kind: data.kind as AlertKind, seq: event.seq, at: event.at,
    ...(event.workflow === undefined ? {} : { workflow: event.workflow }),
    title: String(data.title ?? data.kind), message: String(data.message ?? ''),
    ...(typeof data.runbook === 'string' ? { runbook: data.runbook } : {}),
    to: Array.isArray(data.to) ? data.to.map(String) : [],
    data,
  };
  try {
    deps.notifier.notify(alert);
  } catch {
    // The notifier records its own failures; raising the alert stands.
  }
}

/**
 * Raises an alert on its own: audits it, then notifies.
 * @throws PortcullisError STORE_UNAVAILABLE (nobody is told an alert that is not in the trail)
 */
export async function raiseAlert(deps: ServiceDeps, draft: AlertDraft, actor: Actor = { kind: 'system', id: 'gateway' }): Promise<void> {
  const [sealed] = await deps.store.appendAudit([alertEvent(deps, draft, actor)]);
  if (sealed === undefined) return;
  const event = parseAuditBody(sealed.body);
  notifyAlert(deps, { seq: sealed.seq, at: event.at, ...(event.workflow === undefined ? {} : { workflow: event.workflow }), data: event.data });
}
