/** What the use cases need, wired once in the server's entry point. */
import { canonicalJson, PortcullisError, sha256Hex, type Actor, type ChangeFeed, type MetricsRecorder, type Notifier, type AuditEventDraft, type AuditEventType, type Clock, type IdGenerator, type JsonValue } from '@portcullis/core';
import type { CompiledAction, CompiledConfig, CompiledWorkflow } from '../config/compiled.js';
import type { Connector, ExecutionContext } from '../connectors/connector.js';
import type { ProposalRecord, Store } from '../store/store.js';
import type { SignedCheckpoint } from '../audit-log/checkpoint.js';
import type { ProposalRateLimiter } from './rate-limiter.js';

export interface ServiceDeps {
  readonly config: CompiledConfig;
  readonly store: Store;
  /** Connectors by system name. */
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Where saved state changes are announced (proposal moves; later workflow and agent switches). */
  readonly changes: ChangeFeed;
  /** Proposals per agent per minute (flood-control.ts). */
  readonly rateLimiter: ProposalRateLimiter;
  /**
   * Why executions are refused now, if they are: the store disagrees with the newest published
   * checkpoint, or no sink has accepted a checkpoint for too long. Reads keep working.
   */
  readonly trailGate?: () => string | undefined;
  /** Who tells people about alerts (signed webhooks, email); none: alerts are only audited. */
  readonly notifier?: Notifier;
  /** Counts proposals' moves for GET /metrics; none: nothing is counted. */
  readonly metrics?: MetricsRecorder;
  /** The newest published signed checkpoint, which inclusion proofs of audit events lead to (absent: checkpoints are not configured). */
  readonly latestCheckpoint?: () => SignedCheckpoint | undefined;
}

/**
 * Refuses to execute while the audit trail cannot be vouched for.
 * @throws PortcullisError STORE_UNAVAILABLE naming why; nothing was executed.
 */
export function assertTrailTrusted(deps: ServiceDeps): void {
  const problem = deps.trailGate?.();
  if (problem !== undefined) throw new PortcullisError('STORE_UNAVAILABLE', `${problem}; the gateway executes nothing until it is resolved (see docs/audit.md); nothing was executed`);
}

/** Params or results larger than this many bytes of canonical JSON are stored once, in the proposal; audit events refer to them. */
export const INLINE_PAYLOAD_BYTES = 4096;

/**
 * A proposal's params or result as an audit event carries it: itself when small; else a
 * reference `{ storedIn, sha256, bytes }` to the copy in the proposal (`sha256` of its canonical
 * JSON, which the event's hash then vouches for), so a large payload is stored once.
 */
export function auditPayload(value: JsonValue, storedIn: 'proposal.params' | 'proposal.result'): JsonValue {
  const text = canonicalJson(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes <= INLINE_PAYLOAD_BYTES ? value : { storedIn, sha256: sha256Hex(text), bytes };
}

/** An audit event about a proposal. */
export function proposalEvent(type: AuditEventType, at: number, actor: Actor, proposal: Pick<ProposalRecord, 'id' | 'workflow'>, data: Record<string, JsonValue | undefined>): AuditEventDraft {
  return { type, at, actor, workflow: proposal.workflow, proposalId: proposal.id, data: dropUndefined(data) };
}

/** Removes undefined members so the value is plain JSON. */
export function dropUndefined(data: Record<string, JsonValue | undefined>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(data)) if (value !== undefined) out[key] = value;
  return out;
}

/** The workflow of a proposal. @throws PortcullisError WORKFLOW_NOT_FOUND */
export function workflowOf(config: CompiledConfig, name: string): CompiledWorkflow {
  const workflow = config.workflows.get(name);
  if (workflow === undefined) {
    throw new PortcullisError('WORKFLOW_NOT_FOUND', `unknown workflow "${name}"; configured workflows: ${[...config.workflows.keys()].join(', ') || '(none)'}`, { workflow: name });
  }
  return workflow;
}

/** The execution context of a proposal in its workflow. */
export function executionContext(deps: ServiceDeps, workflow: CompiledWorkflow, action: CompiledAction, proposalId: string): ExecutionContext {
  const scope = workflow.scope.get(`${action.system}:${action.resource}`);
  return { proposalId, workflow: workflow.id, now: deps.clock.now(), maxRecords: workflow.bounds.maxRecordsPerAction, ...(scope === undefined ? {} : { scope }) };
}
