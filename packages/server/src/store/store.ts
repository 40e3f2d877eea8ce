/**
 * The Store port: everything the gateway persists. Adapters (sqlite/, postgres/) implement it
 * and pass one conformance suite. Invariants every adapter keeps:
 * - every write is atomic with the audit events that describe it: a proposal change is never
 *   saved without its events, and the events are durable before the promise resolves;
 * - proposal updates are compare-and-set on status, so two callers cannot both move a
 *   proposal out of the same state (a proposal is executed at most once);
 * - the audit trail is append-only: there is no method to update or delete an event, except
 *   `purgeAudit` past the retention period, which keeps the Merkle tree's frontier at the purge point.
 */
import type {
  AuditEvent, AuditEventDraft, AuditEventType, ChainAnchor, Decision, JsonValue, MerkleFrontierState, MerkleHash, ProposalStatus, SealedAuditEvent,
} from '@portcullis/core';

/** A person's decision on a proposal, bound to the digest of what they saw. */
/** The lowest height of the audit tree's interior nodes a store keeps (subtrees of 256 leaves and more), for proofs. */
export const AUDIT_TREE_NODES_FROM_HEIGHT = 8;

export interface ApprovalDecision {
  readonly decision: 'approved' | 'rejected';
  readonly by: string;
  readonly reason: string;
  readonly at: number;
  readonly digest: string;
  /** When the approval lapses if not used. */
  readonly expiresAt: number;
  readonly usedAt?: number;
}

/** An error recorded with a failed or refused execution. */
export interface RecordedError {
  readonly code: string;
  readonly message: string;
}

/** A proposal as persisted. */
export interface ProposalRecord {
  readonly id: string;
  readonly workflow: string;
  readonly action: string;
  readonly agent: string;
  readonly params: JsonValue;
  readonly reason?: string;
  readonly runId?: string;
  readonly idempotencyKey?: string;
  /** SHA-256 of the canonical (workflow, action, params). */
  readonly digest: string;
  readonly status: ProposalStatus;
  readonly decision: Decision;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When a pending proposal expires unapproved. */
  readonly expiresAt?: number;
  readonly approval?: ApprovalDecision;
  readonly result?: JsonValue;
  /** What undoes the execution (e.g. before-images), recorded with it. */
  readonly undo?: JsonValue;
  readonly error?: RecordedError;
}

/** Fields an update may change; `status` is the new status. */
export type ProposalPatch = Partial<Pick<ProposalRecord, 'approval' | 'result' | 'undo' | 'error' | 'expiresAt'>> & {
  readonly status: ProposalStatus;
  readonly updatedAt: number;
};

/** Filters for listing proposals. */
export interface ProposalFilter {
  readonly status?: ProposalStatus;
  readonly workflows?: readonly string[];
  readonly agent?: string;
  /** Only the proposals of this run. */
  readonly runId?: string;
  readonly limit?: number;
  /** Only proposals created before this one (paging, newest first). */
  readonly beforeId?: string;
}

/** Filters for counting proposals (bounds per run and per hour). */
export interface ProposalCount {
  readonly workflow: string;
  readonly runId?: string;
  readonly createdSince?: number;
  /** Count only proposals that were not denied. */
  readonly excludeDenied?: boolean;
}

/** Filters and paging for the audit trail. Results are in sequence order. */
export interface AuditFilter {
  readonly workflows?: readonly string[];
  readonly proposalId?: string;
  readonly types?: readonly AuditEventType[];
  readonly actorId?: string;
  readonly from?: number;
  readonly to?: number;
  /** Return events with seq greater than this (paging). */
  readonly afterSeq?: number;
  readonly limit: number;
  readonly order?: 'asc' | 'desc';
  /** With order desc: events with seq less than this. */
  readonly beforeSeq?: number;
}

/** Part of the trail: the events after `afterSeq` (default: the anchor) through `throughSeq` (default: the newest). */
export interface ChainRange {
  readonly afterSeq?: number;
  readonly throughSeq?: number;
}

/** A range of the trail to read, and whether to check the stored columns as it is read. */
export interface TrailRead extends ChainRange {
  /**
   * Compare every event's stored columns (the ones queries filter on) with its body in the same
   * read, as `findAuditColumnMismatch` does: an event whose columns disagree carries `column`.
   * Verifying reads the trail once instead of once for the bodies and once for the columns.
   */
  readonly checkColumns?: boolean;
}

/** What an update of a proposal also writes, in the same transaction, when it applies. */
export interface ProposalUpdateExtras {
  /** Advances the proposal's agent's call generation of `call` from `from` (see advanceCallGeneration): its outcome is being delivered. */
  readonly advanceCall?: { readonly call: string; readonly from: number };
}

/** An audit event as queried: its parsed body, its leaf hash and its place in the tree. */
export interface StoredAuditEvent extends AuditEvent {
  /** The RFC 6962 leaf hash of its body, SHA-256(0x00 || body), lowercase hex: derived from the body when read. */
  readonly leafHash: string;
  /** Its leaf index in the trail's Merkle tree (seq less the tree's base, less 1). */
  readonly treeIndex: number;
}

/**
 * An event as stored, read in sequence order (verification, proofs). For an event appended with
 * the tree (seq above `AuditTreeState.chainThrough`), `hash` is its body's leaf hash in hex and
 * `prevHash` is empty; for an older event, they are its legacy chain link (core audit-chain.ts).
 */
export interface StoredAuditRecord {
  readonly seq: number;
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
  /** Read with `checkColumns`: the first of its stored columns that disagrees with its body (absent when none does). */
  readonly column?: string;
}

/**
 * The audit trail's RFC 6962 Merkle tree as stored: leaf i is the hash of event
 * `baseSeq + 1 + i`'s body, and `frontier` the roots of the tree's perfect subtrees. Its
 * size moves with the head in the same transaction.
 */
export interface AuditTreeState {
  readonly baseSeq: number;
  /**
   * The last event sealed into the legacy hash chain, before the tree replaced it (0 for a
   * trail that began with the tree): events up to it carry chain links, later ones leaf hashes.
   */
  readonly chainThrough: number;
  readonly frontier: MerkleFrontierState;
}

/** A retention purge: the events through `throughSeq` were deleted, the tree's frontier at that point kept (absent for purges made before the tree existed). */
export interface AuditPurge {
  readonly throughSeq: number;
  readonly frontier?: MerkleFrontierState;
}

/** A deleted event's leaf hash, kept by the retention purge that deleted it. */
export interface PurgedLeaf {
  readonly seq: number;
  /** RFC 6962 leaf hash: SHA-256(0x00 || the event's canonical body). */
  readonly leafHash: MerkleHash;
}

/** An event whose stored column (which queries filter on) disagrees with its hashed body. */
export interface AuditColumnMismatch {
  readonly seq: number;
  readonly column: string;
}

/** Why an agent or workflow is disabled. */
export interface DisabledState {
  readonly by: string;
  readonly reason: string;
  readonly at: number;
}

/**
 * A system credential as stored by the vault (vault/): sealed with AES-256-GCM, never in
 * plain text. The store keeps it opaque; only the vault can open it.
 */
export interface StoredSecret {
  readonly system: string;
  readonly name: string;
  /** Id of the master key it is sealed under. */
  readonly keyId: string;
  /** The sealed value (format owned by vault/vault-crypto.ts); unique per write, as each write draws a new nonce. */
  readonly sealed: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A workflow run, started by POST /v1/runs once its systems passed their pre-flight checks. */
export interface RunRecord {
  readonly id: string;
  readonly workflow: string;
  /** Who started it: `agent:ID` or `person:ID`. */
  readonly startedBy: string;
  readonly startedAt: number;
  /** The check results it started with. */
  readonly checks: JsonValue;
}

/**
 * The digest an admin accepted for one tool of an MCP system (`portcullis mcp pin`): a tool
 * whose current digest differs, or that has no pin while its system has pins, is blocked.
 */
export interface ToolPin {
  readonly system: string;
  readonly tool: string;
  /** SHA-256 hex of the tool's canonical definition (connectors/mcp/mcp-tools.ts). */
  readonly digest: string;
  readonly pinnedAt: number;
  /** Who pinned it, e.g. `cli`. */
  readonly pinnedBy: string;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;
/** pending: an attempt is due at nextAttemptAt; delivered: an attempt succeeded; dead: the attempts ran out (the dead-letter list). */
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One alert to be told through one notification channel (channels/): its body is fixed when
 * it is created, so every attempt (and a replay) sends the same bytes under the same id.
 */
export interface NotificationDelivery {
  /** Unique per (alert, channel), e.g. `ntf_42_webhook-ops`: a webhook's `webhook-id`. */
  readonly id: string;
  /** The channel's name, e.g. `webhook:ops` or `email`. */
  readonly channel: string;
  /** The `alert.raised` event's seq. */
  readonly alertSeq: number;
  readonly alertKind: string;
  /** What is sent (JSON text for a webhook; the alert's JSON for email). */
  readonly body: string;
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /** When the next attempt is due (ms since the epoch), while pending. */
  readonly nextAttemptAt?: number;
  readonly lastError?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** One attempt at a delivery, as recorded. */
export interface DeliveryAttempt {
  readonly deliveryId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** When it started (ms since the epoch). */
  readonly at: number;
  readonly ok: boolean;
  /** The HTTP status a webhook receiver answered, or the SMTP reply code, if any. */
  readonly code?: number;
  /** Why it failed (no secret in it). */
  readonly error?: string;
}

/** What an attempt moves its delivery to. */
export interface DeliveryOutcome {
  readonly status: DeliveryStatus;
  readonly nextAttemptAt?: number;
  readonly updatedAt: number;
}

/** A workflow's rollout as stored (see core rollout.ts); `version` grows with every change. */
export interface RolloutRecord {
  readonly workflow: string;
  readonly deployedAt?: number;
  readonly writeMode: 'approval' | 'auto';
  /** Automated by the config's override rather than by a promotion. */
  readonly byOverride: boolean;
  readonly promotedAt?: number;
  readonly demotedAt?: number;
  readonly version: number;
  readonly updatedAt: number;
}

export const SUBJECT_KINDS = ['agent', 'workflow'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/** The store port. Every method rejects with PortcullisError STORE_UNAVAILABLE when the store cannot be used. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema. Idempotent. */
  migrate(): Promise<void>;

  /**
   * Inserts a proposal with its audit events atomically. If the agent already used the
   * proposal's idempotency key, nothing is written and the existing proposal is returned.
   */
  insertProposal(proposal: ProposalRecord, events: readonly AuditEventDraft[]): Promise<{ created: boolean; proposal: ProposalRecord }>;
  /**
   * Compare-and-set: applies `patch` if the proposal's status is still `from`, with its audit
   * events, atomically. Resolves undefined (writing nothing) if the status was not `from`.
   */
  updateProposal(id: string, from: ProposalStatus, patch: ProposalPatch, events: readonly AuditEventDraft[], also?: ProposalUpdateExtras): Promise<ProposalRecord | undefined>;
  getProposal(id: string): Promise<ProposalRecord | undefined>;
  findProposalByIdempotencyKey(agent: string, key: string): Promise<ProposalRecord | undefined>;
  /** Newest first. */
  listProposals(filter: ProposalFilter): Promise<ProposalRecord[]>;
  countProposals(filter: ProposalCount): Promise<number>;
  /** Pending proposals whose expiresAt is at or before `now`. */
  listExpiredPending(now: number, limit: number): Promise<ProposalRecord[]>;
  /** Proposals left in `executing` (e.g. by a crash), to flag as outcome_unknown. */
  listExecuting(): Promise<ProposalRecord[]>;

  /**
   * Appends events durably, in order, each a new leaf of the trail's Merkle tree (one hash per
   * event: its body's leaf hash); resolves with them sealed.
   */
  appendAudit(events: readonly AuditEventDraft[]): Promise<SealedAuditEvent[]>;
  queryAudit(filter: AuditFilter): Promise<StoredAuditEvent[]>;
  /**
   * The stored trail in sequence order from the anchor, as pages of up to `batchSize` events
   * (pages, not single events: verifying a long trail awaits once per page, not per event).
   * With `checkColumns`, each event's stored columns are checked against its body as it is read.
   */
  readAuditTrail(batchSize?: number, range?: TrailRead): AsyncIterable<readonly StoredAuditRecord[]>;
  /** The newest event's seq and stored hash, as recorded apart from the events. */
  auditHead(): Promise<ChainAnchor>;
  /** Where the stored trail starts: genesis, or the last event removed by a retention purge (its seq and stored hash). */
  auditAnchor(): Promise<ChainAnchor>;
  /**
   * Deletes events older than `before` (never newer), records a checkpoint anchoring the
   * rest of the chain and appends an `audit.purged` event naming it.
   */
  purgeAudit(before: number, at: number, actor: string): Promise<{ purged: number; anchor: ChainAnchor }>;
  /** The trail's Merkle tree: its base and frontier, moved with every append. */
  auditTree(): Promise<AuditTreeState>;
  /**
   * An interior node of the tree, if the store keeps it: the root of the 2^height leaves from
   * index × 2^height (adapters keep heights AUDIT_TREE_NODES_FROM_HEIGHT and more). An accelerator for inclusion proofs,
   * never trusted: a proof is checked against a signed root before it is given out.
   */
  auditTreeNode(height: number, index: number): Promise<MerkleHash | undefined>;
  /** Every retention purge, oldest first. */
  auditPurges(): Promise<AuditPurge[]>;
  /**
   * The leaf hashes a retention purge kept of the events it deleted, in seq order, as pages of
   * up to `batchSize` (purges made before the store kept them have none). Never trusted: they
   * must rebuild each purge's kept frontier and the published checkpoints before the purge.
   */
  readPurgedLeaves(batchSize?: number, range?: ChainRange): AsyncIterable<readonly PurgedLeaf[]>;
  /** The first event (in seq order, within `range` if given) whose stored columns disagree with its body, if any. */
  findAuditColumnMismatch(range?: ChainRange): Promise<AuditColumnMismatch | undefined>;

  /** A workflow's rollout, if it was ever deployed or seeded. */
  getRollout(workflow: string): Promise<RolloutRecord | undefined>;
  /** Every stored rollout, by workflow id. */
  listRollouts(): Promise<RolloutRecord[]>;
  /**
   * Compare-and-set: saves `record` (its version one more than `expectedVersion`, or 1 for a new
   * one when `expectedVersion` is 0) with its audit events, atomically; resolves false, writing
   * nothing, if the stored version is not `expectedVersion`.
   */
  putRollout(record: RolloutRecord, expectedVersion: number, events: readonly AuditEventDraft[]): Promise<boolean>;
  /**
   * Once per store: saves `records` for workflows that have none, marks the store seeded, and
   * appends `events`, atomically; resolves false (writing nothing) if it was seeded already.
   */
  seedRollouts(records: readonly RolloutRecord[], at: number, events: readonly AuditEventDraft[]): Promise<boolean>;

  getDisabled(kind: SubjectKind, id: string): Promise<DisabledState | undefined>;
  setDisabled(kind: SubjectKind, id: string, state: DisabledState | undefined, events: readonly AuditEventDraft[]): Promise<void>;

  /**
   * Inserts or replaces the sealed secret (system, name) with its audit events, atomically;
   * a replaced secret keeps its createdAt.
   */
  putSecret(secret: StoredSecret, events: readonly AuditEventDraft[]): Promise<void>;
  getSecret(system: string, name: string): Promise<StoredSecret | undefined>;
  /** Every sealed secret, by system then name. */
  listSecrets(): Promise<StoredSecret[]>;
  /**
   * Compare-and-set over the whole vault (master-key rotation): if the stored secrets are
   * exactly `expected` (same system, name and sealed value), replaces them all with `next`
   * and appends `events`, atomically, and resolves true; otherwise writes nothing and
   * resolves false (a secret changed meanwhile: read again and retry).
   */
  replaceAllSecrets(expected: readonly StoredSecret[], next: readonly StoredSecret[], events: readonly AuditEventDraft[]): Promise<boolean>;

  /** Inserts a run with its audit events, atomically. Rejects if the id exists. */
  insertRun(run: RunRecord, events: readonly AuditEventDraft[]): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;

  /** The tool pins of an MCP system, by tool name. */
  getToolPins(system: string): Promise<ToolPin[]>;
  /** Replaces every pin of an MCP system with `pins` (all of that system), with its audit events, atomically. */
  setToolPins(system: string, pins: readonly ToolPin[], events: readonly AuditEventDraft[]): Promise<void>;
  /**
   * The generation of an MCP tool call (an agent's identical calls, by digest): 0 until the
   * outcome of a call is first delivered. The MCP gateway keys proposals by it, so a retry
   * attaches to the open proposal and a call after a delivered outcome is a new proposal.
   */
  getCallGeneration(agent: string, call: string): Promise<number>;
  /** Compare-and-set: moves the generation from `from` to `from + 1`; resolves false (writing nothing) if it was not `from`. */
  advanceCallGeneration(agent: string, call: string, from: number): Promise<boolean>;

  /** Creates a delivery; resolves false (writing nothing) when one with its id exists. */
  insertDelivery(delivery: NotificationDelivery): Promise<boolean>;
  getDelivery(id: string): Promise<NotificationDelivery | undefined>;
  /** Deliveries in a status, oldest first (at most `limit`, default 100). */
  listDeliveries(status: DeliveryStatus, limit?: number): Promise<NotificationDelivery[]>;
  /** A delivery's attempts, first first. */
  listDeliveryAttempts(id: string): Promise<DeliveryAttempt[]>;
  /**
   * Compare-and-set: records `attempt` (number `attempts + 1` of the delivery) and moves the
   * delivery to `outcome` (with `events`), atomically, if it still has `attempt.attempt - 1`
   * attempts and its status is `from`; otherwise writes nothing and resolves undefined (another
   * process made that attempt), so an attempt is recorded once.
   */
  recordDeliveryAttempt(attempt: DeliveryAttempt, from: DeliveryStatus, outcome: DeliveryOutcome, events: readonly AuditEventDraft[]): Promise<NotificationDelivery | undefined>;

  /** Whether a write can be made durable now (used by /readyz and before execution). */
  checkWritable(): Promise<{ ok: true } | { ok: false; error: string }>;
  close(): Promise<void>;
}
