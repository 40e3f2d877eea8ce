/**
 * Audit events and how they are sealed into the trail. Invariant: an event is sealed as its
 * canonical body (RFC 8785 JSON, so it hashes the same wherever it is recomputed) and that
 * body's RFC 6962 leaf hash, SHA-256(0x00 || body): one hash per event. The leaf is appended
 * to the trail's Merkle tree (merkle.ts), which is the trail's only integrity structure; the
 * hash chain of earlier versions (audit-chain.ts) is kept only to verify old trails once.
 */
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { merkleLeafHash, type MerkleHash } from './merkle.js';

/** The version of the persisted event format (the body's `v`). */
export const AUDIT_FORMAT_VERSION = 1;

export const AUDIT_EVENT_TYPES = [
  'gateway.started', 'config.loaded',
  'proposal.received', 'proposal.decided', 'proposal.expired', 'proposal.cancelled', 'request.invalid', 'request.refused',
  'approval.granted', 'approval.rejected', 'approval.refused',
  'execution.started', 'execution.succeeded', 'execution.failed', 'execution.refused', 'execution.outcome_unknown', 'outcome.resolved',
  'audit.purged', 'audit.recovered', 'audit.upgraded',
  'run.started', 'run.refused',
  'rollback.started', 'rollback.succeeded', 'rollback.drifted', 'rollback.failed', 'run.rolled_back',
  'vault.secret_set', 'vault.key_rotated',
  'workflow.disabled', 'workflow.enabled', 'agent.disabled', 'agent.enabled', 'alert.raised',
  'workflow.deployed', 'workflow.promoted', 'workflow.demoted', 'workflow.override',
  'mcp.tools_listed', 'mcp.tool_blocked', 'mcp.tools_pinned', 'mcp.upstream_failed',
  'notification.replayed',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const ACTOR_KINDS = ['agent', 'person', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** Who caused an event. */
export interface Actor {
  readonly kind: ActorKind;
  readonly id: string;
}

/** An event before it is sealed into the trail. `at` is milliseconds since the epoch. */
export interface AuditEventDraft {
  readonly type: AuditEventType;
  readonly at: number;
  readonly actor: Actor;
  readonly workflow?: string;
  readonly proposalId?: string;
  readonly data: { readonly [key: string]: JsonValue };
}

/** A sealed event: its sequence number, its canonical body and the body's RFC 6962 leaf hash (32 bytes). */
export interface SealedAuditEvent {
  readonly seq: number;
  readonly body: string;
  readonly leafHash: MerkleHash;
}

/** A parsed event body. */
export interface AuditEvent extends AuditEventDraft {
  readonly v: number;
  readonly seq: number;
}

/** The canonical body (RFC 8785) of a draft sealed as event `seq`: the bytes its leaf hash covers. */
export function auditEventBody(draft: AuditEventDraft, seq: number): string {
  // Members in their canonical (sorted) order, so canonicalJson need not copy the object to sort it.
  return canonicalJson({
    actor: draft.actor, at: draft.at, data: draft.data, proposalId: draft.proposalId,
    seq, type: draft.type, v: AUDIT_FORMAT_VERSION, workflow: draft.workflow,
  });
}

/**
 * Seals a draft as event `seq`: its canonical body and the body's leaf hash, the one hash an
 * append computes per event.
 * @throws TypeError when the draft holds a value JSON cannot carry (NaN, Infinity, a function).
 */
export function sealAuditEvent(draft: AuditEventDraft, seq: number): SealedAuditEvent {
  const body = auditEventBody(draft, seq);
  return { seq, body, leafHash: merkleLeafHash(body) };
}

/**
 * Whether a canonical body's top-level `seq` is `seq`, without parsing it (verification runs
 * this per event). Canonical bodies sort keys: the top-level "seq" follows actor, at, data and
 * proposalId, and only string or number values follow it, so its key is the last `"seq":`.
 */
export function auditBodyHasSeq(body: string, seq: number): boolean {
  const key = body.lastIndexOf('"seq":');
  if (key === -1 || !Number.isSafeInteger(seq) || seq < 0) return false;
  let i = key + 6;
  let value = 0;
  const start = i;
  for (let c = body.charCodeAt(i); c >= 48 && c <= 57; c = body.charCodeAt(i)) {
    value = value * 10 + (c - 48);
    i += 1;
  }
  // No leading zeros: "seq":007 is not the canonical text of 7.
  const digits = i - start;
  return digits > 0 && digits <= 16 && (digits === 1 || body.charCodeAt(start) !== 48) && value === seq && body.charCodeAt(i) === 44;
}

/** Parses a sealed event's body. @throws SyntaxError if the body is not JSON. */
export function parseAuditBody(body: string): AuditEvent {
  return JSON.parse(body) as AuditEvent;
}

/**
 * A retention purge as the trail records it, in the data of an `audit.purged` event: the event's
 * own purge, or one it lists in `earlierPurges` (a purge deletes the `audit.purged` events of
 * earlier purges, so each lists all of them). Fields as written: `throughSeq` (the last event
 * deleted), `before` (the cut-off time, ms), `at` (when it ran, ms), `leavesKept` (its deleted
 * events' leaf hashes were kept), and `treeSize`/`treeRoot` when it kept a tree frontier.
 */
export type AuditPurgeRecord = {
  readonly throughSeq: JsonValue;
  readonly before: JsonValue;
  readonly at: JsonValue;
  readonly leavesKept: boolean;
  readonly treeSize?: JsonValue;
  readonly treeRoot?: JsonValue;
};

/**
 * Every purge an `audit.purged` event's data records, oldest first: those it lists in
 * `earlierPurges`, then its own (run at `at`). Entries that are not objects are skipped.
 */
export function auditPurgeRecords(data: Readonly<Record<string, unknown>>, at: number): AuditPurgeRecord[] {
  const record = (d: Readonly<Record<string, unknown>>, when: unknown): AuditPurgeRecord => ({
    throughSeq: (d.throughSeq ?? null) as JsonValue, before: (d.before ?? null) as JsonValue, at: (when ?? null) as JsonValue, leavesKept: d.leavesKept === true,
    ...(d.treeSize !== undefined && d.treeRoot !== undefined ? { treeSize: d.treeSize as JsonValue, treeRoot: d.treeRoot as JsonValue } : {}),
  });
  const listed = Array.isArray(data.earlierPurges) ? (data.earlierPurges as unknown[]) : [];
  const earlier = listed.filter((entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null && !Array.isArray(entry))
    .map((entry) => record(entry, entry.at));
  return [...earlier, record(data, at)];
}
