/**
 * Verifying what retention purges left: every stored purge must be one the trail records (its
 * own `audit.purged` event, or the list in a later purge's event, whose purge deleted the
 * earlier event), within the retention minimum and covered by a published checkpoint; and the
 * leaf hashes purges kept must rebuild each purge's kept frontier and the checkpoints published
 * before the newest purge. Invariant as in tree-verify.ts: every input from the store is
 * evidence, not truth, and the first problem is the outcome, naming the event or checkpoint.
 */
import { auditPurgeRecords, createMerkleFrontier, sameHash, type AuditPurgeRecord, type MerkleFrontier, type MerkleHash } from '@portcullis/core';
import type { AuditPurge, Store, StoredAuditEvent } from '../store/store.js';
import type { SignedCheckpoint } from './checkpoint.js';

/** The shortest retention a purge may use: 90 days (SPEC). */
const MIN_RETENTION_MS = 90 * 86_400_000;
/** Kept leaf hashes read at a time. */
const LEAF_PAGE = 5000;

/** A purge as the trail records it: by its own `audit.purged` event, or listed by a later purge's event (that purge deleted the earlier event). */
interface RecordedPurge {
  readonly throughSeq: number;
  readonly before: unknown;
  readonly at: unknown;
  readonly leavesKept: boolean;
  /** The event that records it. */
  readonly seq: number;
}

/** Every purge the stored `audit.purged` events record, by the seq it purged through (an event's own purge wins over a listing). */
function recordedPurges(events: readonly StoredAuditEvent[]): Map<number, RecordedPurge> {
  const recorded = new Map<number, RecordedPurge>();
  const entry = (r: AuditPurgeRecord, seq: number): RecordedPurge => ({ throughSeq: Number(r.throughSeq), before: r.before, at: r.at, leavesKept: r.leavesKept, seq });
  const own: RecordedPurge[] = [];
  for (const event of events) {
    const records = auditPurgeRecords(event.data, event.at);
    own.push(entry(records.pop() as AuditPurgeRecord, event.seq));
    for (const listed of records) if (!recorded.has(Number(listed.throughSeq))) recorded.set(Number(listed.throughSeq), entry(listed, event.seq));
  }
  for (const purge of own) recorded.set(purge.throughSeq, purge);
  return recorded;
}

/**
 * Checks every stored purge (after the tree's base, oldest first) against what the trail
 * records of it: recorded at all, nothing younger than the retention minimum purged, recorded by
 * an event a published checkpoint covers (`coveredThrough`, when checkpoints are given), and its
 * leaf hashes kept when it says so; and every purge the trail records has its stored record.
 * (The frontier a purge kept is checked by the leaf hashes that rebuild it, by the roots of the
 * checkpoints after it, and by the stored tree.)
 */
export function checkPurges(purges: readonly AuditPurge[], base: number, events: readonly StoredAuditEvent[], leaves: { readonly from: number; readonly to: number }, coveredThrough: number | undefined): { problem: string; seq: number; uncovered?: true } | undefined {
  const recorded = recordedPurges(events);
  let previous = base;
  for (const purge of purges) {
    const through = purge.throughSeq;
    const record = recorded.get(through);
    if (record === undefined) return { problem: `the purge of events through ${through} has no audit.purged event in the trail: it was forged, and events 1–${through} were deleted`, seq: through };
    const by = `(recorded by event ${record.seq})`;
    if (typeof record.before !== 'number' || typeof record.at !== 'number' || record.at - record.before < MIN_RETENTION_MS) {
      return { problem: `the purge of events through ${through} ${by} removed events younger than the ${MIN_RETENTION_MS / 86_400_000}-day retention minimum`, seq: record.seq };
    }
    if (coveredThrough !== undefined && record.seq > coveredThrough) {
      return {
        problem: `the purge of events through ${through} ${by} is not yet covered by a published checkpoint (the newest covers ${coveredThrough - base} events): if you ran it, sign a checkpoint now (\`portcullis audit checkpoint\`, docs/audit.md; \`audit purge -c\` does it itself); if nobody did, it was forged: restore a backup`,
        seq: record.seq, uncovered: true,
      };
    }
    if (record.leavesKept && !(leaves.from <= previous && through <= leaves.to)) {
      return { problem: `the purge of events through ${through} ${by} kept the leaf hashes of events ${previous + 1}–${through}, but they are missing from the store: they were deleted`, seq: through };
    }
    previous = through;
  }
  const stored = new Set(purges.map((p) => p.throughSeq));
  for (const record of recorded.values()) {
    if (record.throughSeq > base && !stored.has(record.throughSeq)) return { problem: `the purge of events through ${record.throughSeq} recorded by event ${record.seq} has no stored purge record: it was deleted`, seq: record.throughSeq };
  }
  return undefined;
}

/** The purged part of the trail, rebuilt from kept leaf hashes: events after `from` through `to` (from = to: none kept). */
export type PurgedPart = { readonly from: number; readonly to: number } | { readonly problem: string; readonly seq: number; readonly checkpoint?: number };

/**
 * Rebuilds the tree over the leaf hashes purges kept (events `from`+1 through `to`, starting
 * at the tree's base or at the frontier a purge kept), checking the root at each checkpoint in
 * `older` it reaches (with `checkRoot`) and each purge's kept frontier on the way.
 */
export async function rebuildPurged(
  store: Store, base: number, purges: readonly AuditPurge[], older: readonly SignedCheckpoint[],
  checkRoot: (checkpoint: SignedCheckpoint, root: MerkleHash) => { readonly ok: boolean; readonly problem?: string; readonly seq?: number } | undefined,
): Promise<PurgedPart> {
  let frontier: MerkleFrontier | undefined;
  let from = 0;
  let next = 0;
  const waiting = [...older];
  const boundaries = new Map(purges.map((p) => [p.throughSeq, p]));
  /** Checks the checkpoints of the frontier's size against its root. */
  const checkWaiting = (at: MerkleFrontier, seq: number): PurgedPart | undefined => {
    while (waiting[0] !== undefined && waiting[0].size === at.size) {
      const checkpoint = waiting.shift() as SignedCheckpoint;
      const mismatch = checkRoot(checkpoint, at.root());
      if (mismatch !== undefined && !mismatch.ok) return { problem: `${mismatch.problem} (rebuilt from the leaf hashes kept by the purges)`, seq: mismatch.seq ?? seq, checkpoint: checkpoint.size };
    }
    return undefined;
  };
  for await (const page of store.readPurgedLeaves(LEAF_PAGE, { afterSeq: base })) {
    for (const { seq, leafHash } of page) {
      if (frontier === undefined) {
        from = seq - 1;
        const after = boundaries.get(from);
        if (from !== base && after?.frontier === undefined) return { problem: `the leaf hashes kept for purged events start at event ${seq}, not after the trail's base or a purge: the kept leaf hashes were edited`, seq };
        frontier = createMerkleFrontier(from === base ? undefined : after?.frontier);
        next = seq;
        while (waiting[0] !== undefined && waiting[0].size < frontier.size) waiting.shift();
        const atStart = checkWaiting(frontier, seq);
        if (atStart !== undefined) return atStart;
      }
      if (seq !== next) return { problem: `the leaf hash kept for purged event ${next} is missing: the kept leaf hashes were edited`, seq: next };
      frontier.append(leafHash);
      next += 1;
      const mismatch = checkWaiting(frontier, seq);
      if (mismatch !== undefined) return mismatch;
      const kept = boundaries.get(seq)?.frontier;
      if (kept !== undefined && !sameHash(createMerkleFrontier(kept).root(), frontier.root())) {
        return { problem: `the leaf hashes kept for purged events ${from + 1}–${seq} do not rebuild the tree the purge through ${seq} kept: a kept leaf hash was edited`, seq };
      }
    }
  }
  if (frontier === undefined) return { from: 0, to: 0 };
  if (!boundaries.has(next - 1)) return { problem: `the leaf hashes kept for purged events end at event ${next - 1}, which no purge ends at: the kept leaf hashes were edited`, seq: next - 1 };
  return { from, to: next - 1 };
}
