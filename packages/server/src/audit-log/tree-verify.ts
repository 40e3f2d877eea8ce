/**
 * Verifies the stored trail against published checkpoints, trusting only their signatures
 * (checked when they were read). Invariant: every input from the store is evidence, not truth:
 * the tree is rebuilt from the event bodies (from the frontier a purge kept, or the tree's
 * base), and its root at each checkpoint's size must equal the signed root. Rebuilding both
 * roots from one sequence of leaves proves the current tree extends every checkpoint, which is
 * what an RFC 6962 consistency proof shows, without trusting any stored node. It also checks
 * the hash chain (naming an edited event), that the stored columns match their bodies, that
 * every purge is anchored by a checkpoint, and that the stored frontier is the rebuilt one.
 * The first problem in trail order is reported.
 */
import {
  createChainVerifier, createMerkleFrontier, merkleLeafHash, sameHash,
  type MerkleFrontier, type MerkleHash,
} from '@portcullis/core';
import type { Store } from '../store/store.js';
import type { SignedCheckpoint } from './checkpoint.js';

const PAGE = 5000;
/** The shortest retention a purge may use: 90 days (SPEC). */
const MIN_RETENTION_MS = 90 * 86_400_000;
const PROGRESS_EVERY = 100_000;

/** The outcome of verifying a trail against checkpoints. */
export type TreeVerification =
  | {
    readonly ok: true;
    /** Events read and hashed. */
    readonly count: number;
    /** Checkpoints whose root was rebuilt and matched. */
    readonly matched: number;
    /** Checkpoints older than the last purge, which the kept frontier cannot rebuild. */
    readonly beforePurge: number;
    readonly treeSize: number;
    readonly root: MerkleHash;
  }
  | {
    readonly ok: false;
    readonly count: number;
    readonly problem: string;
    /** The event named, when one is. */
    readonly seq?: number;
    /** The checkpoint named (its tree size), when one is. */
    readonly checkpoint?: number;
  };

const b64 = (h: MerkleHash): string => Buffer.from(h).toString('base64');

/** Verifies the store's trail against `checkpoints` (signatures already checked). */
export async function verifyTrailAgainstCheckpoints(store: Store, checkpoints: readonly SignedCheckpoint[], onProgress?: (verified: number) => void): Promise<TreeVerification> {
  const [tree, purges, anchor, head] = await Promise.all([store.auditTree(), store.auditPurges(), store.auditAnchor(), store.auditHead()]);
  const base = tree.baseSeq;
  const sorted = [...checkpoints].sort((a, b) => a.size - b.size);
  const newest = sorted.at(-1);
  let count = 0;
  const fail = (problem: string, at: { seq?: number; checkpoint?: number } = {}): TreeVerification => ({ ok: false, count, problem, ...at });

  // Every purge must be anchored by a published checkpoint at or past it: deleting the oldest
  // events and writing a purge row is otherwise undetectable from the rest of the trail.
  for (const purge of purges) {
    if (purge.throughSeq <= base) continue;
    if (newest === undefined || newest.size < purge.throughSeq - base) {
      return fail(`the purge of events through ${purge.throughSeq} is not anchored by a published checkpoint (the newest covers ${newest?.size ?? 0} events): the oldest events were deleted without a covered retention purge`, { seq: purge.throughSeq });
    }
    if (purge.frontier === undefined) return fail(`the purge of events through ${purge.throughSeq} kept no tree frontier: it was forged`, { seq: purge.throughSeq });
  }

  // Start from the newest purge's kept frontier, or the tree's base.
  const start = purges.filter((p) => p.throughSeq > base && p.frontier !== undefined).at(-1);
  const frontier: MerkleFrontier = createMerkleFrontier(start?.frontier);
  const beforePurge = sorted.filter((c) => c.size < frontier.size);
  const pending = sorted.filter((c) => c.size >= frontier.size);
  let matched = 0;
  let lastMatched = frontier.size;
  const checkAtSize = (): TreeVerification | undefined => {
    while (pending[0] !== undefined && pending[0].size === frontier.size) {
      const checkpoint = pending.shift() as SignedCheckpoint;
      const root = frontier.root();
      if (!sameHash(root, checkpoint.root)) {
        const from = base + lastMatched + 1;
        return fail(`checkpoint ${checkpoint.size} (root ${b64(checkpoint.root)}) does not match the trail, whose first ${checkpoint.size} events hash to ${b64(root)}: an event among ${from}–${base + checkpoint.size} was edited, deleted, inserted or re-hashed`, { checkpoint: checkpoint.size, seq: from });
      }
      matched += 1;
      lastMatched = checkpoint.size;
    }
    return undefined;
  };
  const atStart = checkAtSize();
  if (atStart !== undefined) return atStart;

  // The hash chain still names an edited event precisely; the checkpoints catch what it cannot.
  const chain = createChainVerifier(anchor);
  const chainFrom = anchor.seq;
  let next = base + frontier.size + 1;
  let reported = 0;
  for await (const page of store.readAuditChain(PAGE, { afterSeq: base + frontier.size })) {
    for (const event of page) {
      if (event.seq !== next) return fail(`event ${next} is missing (the next event present is ${event.seq})`, { seq: next });
      if (event.seq > chainFrom) {
        const broken = chain.push(event);
        if (broken !== undefined) return fail(broken.problem, { seq: broken.seq });
      }
      frontier.append(merkleLeafHash(event.body));
      next += 1;
      count += 1;
      const mismatch = checkAtSize();
      if (mismatch !== undefined) return mismatch;
    }
    if (onProgress !== undefined && count - reported >= PROGRESS_EVERY) {
      reported = count - (count % PROGRESS_EVERY);
      onProgress(reported);
    }
  }
  const unreached = pending[0];
  if (unreached !== undefined) {
    return fail(`checkpoint ${unreached.size} covers events through ${base + unreached.size}, but the store's trail ends at event ${base + frontier.size}: events ${base + frontier.size + 1}–${base + unreached.size} were deleted, or the store was rolled back to an older copy`, { checkpoint: unreached.size, seq: base + frontier.size + 1 });
  }
  const finished = chain.finish(head);
  if (!finished.ok) return fail(finished.break.problem, { seq: finished.break.seq });

  const column = await store.findAuditColumnMismatch();
  if (column !== undefined) {
    return fail(`event ${column.seq}'s stored ${column.column} column does not match its hashed body: queries filtering on ${column.column} would show it wrongly`, { seq: column.seq });
  }
  // A purge is the retention purge only if the trail records it: an `audit.purged` event naming
  // it, covered by a published checkpoint, purging nothing younger than the retention minimum.
  // (Its type column was just checked against its body, so the query can be trusted.)
  const purgeEvents = await store.queryAudit({ types: ['audit.purged'], limit: 10_000 });
  for (const purge of purges) {
    if (purge.throughSeq <= base) continue;
    const event = purgeEvents.find((e) => (e.data as { throughSeq?: unknown }).throughSeq === purge.throughSeq);
    if (event === undefined) {
      return fail(`the purge of events through ${purge.throughSeq} has no audit.purged event in the trail: it was forged, and events 1–${purge.throughSeq} were deleted`, { seq: purge.throughSeq });
    }
    const before = (event.data as { before?: unknown }).before;
    if (typeof before !== 'number' || event.at - before < MIN_RETENTION_MS) {
      return fail(`the purge of events through ${purge.throughSeq} (event ${event.seq}) removed events younger than the ${MIN_RETENTION_MS / 86_400_000}-day retention minimum`, { seq: event.seq });
    }
    if (newest === undefined || event.seq > base + newest.size) {
      return fail(`the purge of events through ${purge.throughSeq} (event ${event.seq}) is not yet covered by a published checkpoint (the newest covers ${newest?.size ?? 0} events): cut a checkpoint after a purge`, { seq: event.seq });
    }
  }
  const stored = createMerkleFrontier(tree.frontier);
  if (stored.size !== frontier.size || !sameHash(stored.root(), frontier.root())) {
    return fail(`the stored tree (${stored.size} events, root ${b64(stored.root())}) is not the tree of the stored events (${frontier.size}, root ${b64(frontier.root())}): it was edited`);
  }
  return { ok: true, count, matched, beforePurge: beforePurge.length, treeSize: frontier.size, root: frontier.root() };
}
