/**
 * Row <-> record mapping shared by every Store adapter. Invariant: a record read back is the
 * record that was written, up to JSON normalisation: optional fields that were undefined stay
 * absent (never `null`), JSON columns are encoded canonically and parsed on the way out.
 * Column names are the same in every dialect; drivers differ only in how they hand values
 * back (SQLite: numbers and JSON text; PostgreSQL: bigint strings and parsed jsonb), and the
 * decoders here accept both.
 */
import {
  PROPOSAL_STATUSES, PortcullisError, canonicalJson, merkleLeafHash, parseAuditBody,
  type AuditEventDraft, type Decision, type JsonValue, type ProposalStatus, type SealedAuditEvent,
} from '@portcullis/core';
import type { ApprovalDecision, ProposalPatch, ProposalRecord, RecordedError, StoredAuditEvent, StoredAuditRecord } from './store.js';

/** An integer column as a driver returns it (PostgreSQL returns bigint as a string). */
type IntegerColumn = number | string | bigint;
/** A JSON column as a driver returns it (text, or already parsed). */
type JsonColumn = string | object;

/** A row of the `proposals` table. */
export interface ProposalRow {
  readonly id: string;
  readonly workflow: string;
  readonly action: string;
  readonly agent: string;
  readonly params: JsonColumn;
  readonly reason: string | null;
  readonly run_id: string | null;
  readonly idempotency_key: string | null;
  readonly digest: string;
  readonly status: string;
  readonly decision: JsonColumn;
  readonly created_at: IntegerColumn;
  readonly updated_at: IntegerColumn;
  readonly expires_at: IntegerColumn | null;
  readonly approval: JsonColumn | null;
  readonly result: JsonColumn | null;
  readonly undo: JsonColumn | null;
  readonly error: JsonColumn | null;
}

/** The columns of an `audit_events` row, as written. */
export interface AuditEventRow {
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly workflow: string | null;
  readonly proposal_id: string | null;
  readonly actor_id: string;
  readonly body: string;
  readonly prev_hash: string;
  readonly hash: string;
}

/** Encodes a JSON column canonically. @throws TypeError for values JSON cannot carry. */
export function encodeJson(value: unknown): string {
  return canonicalJson(value);
}

/** Encodes an optional JSON column: undefined becomes SQL NULL. */
export function encodeOptionalJson(value: unknown): string | null {
  return value === undefined ? null : canonicalJson(value);
}

/** Decodes a JSON column, whether the driver returned text or a parsed value. */
export function decodeJson<T>(value: JsonColumn): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Decodes an integer column to a number. */
export function decodeInteger(value: IntegerColumn): number {
  return typeof value === 'number' ? value : Number(value);
}

/** The row that stores a proposal. @throws TypeError if a JSON field cannot be encoded. */
export function proposalToRow(p: ProposalRecord): ProposalRow {
  return {
    id: p.id, workflow: p.workflow, action: p.action, agent: p.agent, params: encodeJson(p.params),
    reason: p.reason ?? null, run_id: p.runId ?? null, idempotency_key: p.idempotencyKey ?? null,
    digest: p.digest, status: p.status, decision: encodeJson(p.decision),
    created_at: p.createdAt, updated_at: p.updatedAt, expires_at: p.expiresAt ?? null,
    approval: encodeOptionalJson(p.approval), result: encodeOptionalJson(p.result),
    undo: encodeOptionalJson(p.undo), error: encodeOptionalJson(p.error),
  };
}

/** The proposal a row stores. @throws PortcullisError INTERNAL if the row's status is unknown. */
export function rowToProposal(row: ProposalRow): ProposalRecord {
  if (!(PROPOSAL_STATUSES as readonly string[]).includes(row.status)) {
    throw new PortcullisError('INTERNAL', `proposal ${row.id} has the unknown status "${row.status}" in the store`);
  }
  const record: {
    -readonly [K in keyof ProposalRecord]: ProposalRecord[K];
  } = {
    id: row.id, workflow: row.workflow, action: row.action, agent: row.agent,
    params: decodeJson<JsonValue>(row.params), digest: row.digest, status: row.status as ProposalStatus,
    decision: decodeJson<Decision>(row.decision),
    createdAt: decodeInteger(row.created_at), updatedAt: decodeInteger(row.updated_at),
  };
  if (row.reason !== null) record.reason = row.reason;
  if (row.run_id !== null) record.runId = row.run_id;
  if (row.idempotency_key !== null) record.idempotencyKey = row.idempotency_key;
  if (row.expires_at !== null) record.expiresAt = decodeInteger(row.expires_at);
  if (row.approval !== null) record.approval = decodeJson<ApprovalDecision>(row.approval);
  if (row.result !== null) record.result = decodeJson<JsonValue>(row.result);
  if (row.undo !== null) record.undo = decodeJson<JsonValue>(row.undo);
  if (row.error !== null) record.error = decodeJson<RecordedError>(row.error);
  return record;
}

/** A normalised copy of a proposal: what reading it back from any store returns. */
export function normaliseProposal(p: ProposalRecord): ProposalRecord {
  return rowToProposal(proposalToRow(p));
}

/**
 * The column values of a compare-and-set update. Optional columns the patch leaves out are
 * NULL here and mean "unchanged" (adapters write `COALESCE(new, old)`): a patch never clears
 * a field.
 */
export interface ProposalPatchColumns {
  readonly status: string;
  readonly updated_at: number;
  readonly expires_at: number | null;
  readonly approval: string | null;
  readonly result: string | null;
  readonly undo: string | null;
  readonly error: string | null;
}

/** Encodes a patch. @throws TypeError if a JSON field cannot be encoded. */
export function patchToColumns(patch: ProposalPatch): ProposalPatchColumns {
  return {
    status: patch.status, updated_at: patch.updatedAt, expires_at: patch.expiresAt ?? null,
    approval: encodeOptionalJson(patch.approval), result: encodeOptionalJson(patch.result),
    undo: encodeOptionalJson(patch.undo), error: encodeOptionalJson(patch.error),
  };
}

/** A leaf hash as lowercase hex, without copying its bytes. */
export function hashHex(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
}

/**
 * The row that stores a sealed event; its indexed columns repeat fields of the body. `hash` is
 * the body's leaf hash in hex and `prev_hash` is empty: the tree, not a chain, links events.
 */
export function auditEventToRow(draft: AuditEventDraft, sealed: SealedAuditEvent): AuditEventRow {
  return {
    seq: sealed.seq, at: draft.at, type: draft.type, workflow: draft.workflow ?? null,
    proposal_id: draft.proposalId ?? null, actor_id: draft.actor.id,
    body: sealed.body, prev_hash: '', hash: hashHex(sealed.leafHash),
  };
}

/** The stored record a row holds. */
export function rowToAuditRecord(row: { seq: IntegerColumn; body: string; prev_hash: string; hash: string }): StoredAuditRecord {
  return { seq: decodeInteger(row.seq), body: row.body, prevHash: row.prev_hash, hash: row.hash };
}

/** The parsed event a row stores, with its leaf hash (recomputed from the body, whatever the row's hash column says) and tree index. */
export function rowToStoredEvent(row: { body: string; tree_index: IntegerColumn }): StoredAuditEvent {
  return { ...parseAuditBody(row.body), leafHash: hashHex(merkleLeafHash(row.body)), treeIndex: decodeInteger(row.tree_index) };
}
