/**
 * Verifies the stored trail: the Merkle tree rebuilt from the event bodies, against the stored
 * tree and head and, when given, against published checkpoints, trusting only their signatures
 * (checked when they were read). Invariant: every input from the store is evidence, not truth:
 * the tree is rebuilt from the event bodies (from the frontier a purge kept, or the tree's
 * base), and its root at each checkpoint's size must equal the signed root. Rebuilding both
 * roots from one sequence of leaves proves the current tree extends every checkpoint, which is
 * what an RFC 6962 consistency proof shows, without trusting any stored node. Each event's stored
 * leaf hash (or, for events from before the tree, its legacy chain link) names an edited event;
 * it also checks that the stored columns match their bodies, that every purge is recorded in the
 * trail (and, with checkpoints, anchored by one), and that the stored frontier and head are the
 * rebuilt ones. The first problem in trail order is reported.
 */
import {
  appendFrontier, createMerkleFrontier, createTrailChecker, sameHash,
  type MerkleFrontier, type MerkleFrontierState, type MerkleHash,
} from '@portcullis/core';
import { AUDIT_TREE_NODES_FROM_HEIGHT, type Store } from '../store/store.js';
import { checkPurges, rebuildPurged } from './purge-verify.js';
import type { SignedCheckpoint } from './checkpoint.js';

const PAGE = 5000;
const PROGRESS_EVERY = 100_000;

/** The outcome of verifying a trail against checkpoints. */
export type TreeVerification =
  | {
    readonly ok: true;
    /** Events read and hashed. */
    readonly count: number;
    /** Checkpoints whose root was rebuilt and matched. */
    readonly matched: number;
    /** Checkpoints older than the last purge that no kept leaf hashes rebuild (purges made before leaf hashes were kept). */
    readonly beforePurge: number;
    readonly treeSize: number;
    readonly root: MerkleHash;
    /** The newest event verified (the head). */
    readonly lastSeq: number;
  }
  | {
    readonly ok: false;
    readonly count: number;
    readonly problem: string;
    /** The event named, when one is. */
    readonly seq?: number;
    /** The checkpoint named (its tree size), when one is. */
    readonly checkpoint?: number;
    /**
     * The one problem a signed checkpoint settles: a purge the trail records after the newest
     * published checkpoint (`portcullis audit purge --db` leaves one; so would a forged purge,
     * but an attacker cannot sign the checkpoint).
     */
    readonly uncoveredPurge?: true;
  };

const b64 = (h: MerkleHash): string => Buffer.from(h).toString('base64');

/** Verifies the store's trail against `checkpoints` (signatures already checked): every purge must be anchored by one. */
export function verifyTrailAgainstCheckpoints(store: Store, checkpoints: readonly SignedCheckpoint[], onProgress?: (verified: number) => void): Promise<TreeVerification> {
  return verifyTrail(store, { checkpoints, onProgress });
}

/**
 * One contiguous part of the trail to rebuild: the events after `afterSeq` through `throughSeq`
 * (the last part reads to the end of the stored trail). A part either continues the tree from
 * `start` (the first part: the frontier the stored events start from) or rebuilds its own
 * subtrees from nothing (`start` empty) at leaf `offset`, a multiple of a power of two at least
 * its length, so its subtrees are aligned and join the whole tree (core `appendFrontier`).
 */
export interface TreeSegment {
  readonly afterSeq: number;
  readonly throughSeq: number;
  /** The tree's base (leaf i is event base + 1 + i). */
  readonly base: number;
  /** The last event sealed into the legacy chain (AuditTreeState.chainThrough). */
  readonly chainThrough: number;
  /** The legacy chain's anchor before `afterSeq + 1`; absent: the stored hash of event `afterSeq` is used. */
  readonly chainAnchor?: { readonly seq: number; readonly hash: string };
  readonly start: MerkleFrontierState;
  /** Leaves before `start`'s (0 when `start` is the tree's own frontier). */
  readonly offset: number;
  /** Tree sizes (whole-tree leaf counts) at which to report the part's frontier. */
  readonly reportAt: readonly number[];
}

/** An interior node of the tree as rebuilt: its height, its index among the nodes of that height (in the whole tree), its hash. */
export interface RebuiltNode {
  readonly height: number;
  readonly index: number;
  readonly hash: MerkleHash;
}

/** A part rebuilt: its frontier at each size asked for and at its end, or its first problem. */
export interface TreeSegmentResult {
  readonly count: number;
  readonly frontiers: readonly { readonly size: number; readonly state: MerkleFrontierState }[];
  readonly end: MerkleFrontierState;
  /** The nodes of the heights stores keep that the part completed (checked against the stored ones once the whole tree verifies). */
  readonly nodes?: readonly RebuiltNode[];
  readonly problem?: string;
  readonly seq?: number;
}

/**
 * Rebuilds one part of the tree from the stored bodies, checking every event (its stored leaf
 * hash, or legacy chain link, its seq and its stored columns) in one read of the part. Stops at
 * the first problem; `onCount` is told the count so far after each page.
 */
export async function rebuildSegment(store: Store, segment: TreeSegment, onCount?: (count: number) => void): Promise<TreeSegmentResult> {
  let anchor = segment.chainAnchor;
  if (anchor === undefined && segment.afterSeq < segment.chainThrough) {
    let stored: { seq: number; hash: string } | undefined;
    for await (const page of store.readAuditTrail(1, { afterSeq: segment.afterSeq - 1, throughSeq: segment.afterSeq })) stored = page[0];
    if (stored?.seq !== segment.afterSeq) return { count: 0, frontiers: [], end: segment.start, problem: `event ${segment.afterSeq} is missing`, seq: segment.afterSeq };
    anchor = { seq: stored.seq, hash: stored.hash };
  }
  const check = createTrailChecker(segment.chainThrough, anchor ?? { seq: segment.afterSeq, hash: '' }, segment.afterSeq + 1);
  const frontier = createMerkleFrontier(segment.start);
  const reportAt = [...segment.reportAt];
  const frontiers: { size: number; state: MerkleFrontierState }[] = [];
  let count = 0;
  let next = segment.afterSeq + 1;
  const done = (problem?: string, seq?: number): TreeSegmentResult => ({ count, frontiers, end: frontier.state(), nodes, ...(problem === undefined ? {} : { problem, seq }) });
  // The columns queries filter on are checked in the same read, event by event, so the first
  // bad event in trail order is reported however the trail is split: an event's own leaf hash
  // or seq problem first, then its columns.
  // The interior nodes the store keeps (for proofs) must be the nodes rebuilt from the bodies:
  // the part reports those it completes (its own indices shifted to the whole tree's).
  const nodes: RebuiltNode[] = [];
  const onNode = (height: number, index: number, hash: MerkleHash): void => {
    if (height >= AUDIT_TREE_NODES_FROM_HEIGHT) nodes.push({ height, index: index + segment.offset / 2 ** height, hash });
  };
  for await (const page of store.readAuditTrail(PAGE, { afterSeq: segment.afterSeq, throughSeq: segment.throughSeq, checkColumns: true })) {
    for (const event of page) {
      const leaf = check(event);
      if (typeof leaf === 'string') return done(leaf, firstSeqIn(leaf) ?? event.seq);
      if (event.column !== undefined) return done(columnProblem({ seq: event.seq, column: event.column }), event.seq);
      frontier.append(leaf, onNode);
      count += 1;
      next += 1;
      if (reportAt[0] === segment.offset + frontier.size) frontiers.push({ size: reportAt.shift() as number, state: frontier.state() });
    }
    onCount?.(count);
  }
  // A part before the last must reach its end: a missing event at its end is a gap.
  if (segment.throughSeq !== Number.MAX_SAFE_INTEGER && next <= segment.throughSeq) return done(`event ${next} is missing`, next);
  return done();
}

/** How to verify a trail. */
export interface TrailVerifyOptions {
  /** Signed checkpoints (signatures already checked); without them, the trail is checked against the stored tree and head only, and purges need no checkpoint. */
  readonly checkpoints?: readonly SignedCheckpoint[];
  /** Told the count verified, every 100,000 events. */
  readonly onProgress?: ((verified: number) => void) | undefined;
  /**
   * Rebuild a long trail in `parts` parts at once, each run by `run` (e.g. in a worker thread
   * that opens the store itself); `onSplit` is told the events and parts when more than one.
   */
  readonly parallel?: {
    readonly parts: (events: number) => number;
    readonly run: (segment: TreeSegment, onCount: (count: number) => void) => Promise<TreeSegmentResult>;
    readonly onSplit?: ((events: number, parts: number) => void) | undefined;
  } | undefined;
}

/** Splits leaves [from, to) into parts: the first from `from`, the others aligned at multiples of a power of two at least their length. */
function planSegments(from: number, to: number, parts: number): { offset: number; end: number }[] {
  if (parts <= 1 || to - from <= 1) return [{ offset: from, end: Number.MAX_SAFE_INTEGER }];
  let width = 1;
  while (width * parts < to - from) width *= 2;
  const plan: { offset: number; end: number }[] = [];
  for (let offset = from; offset < to;) {
    const end = (Math.floor(offset / width) + 1) * width;
    plan.push({ offset, end: end >= to ? Number.MAX_SAFE_INTEGER : end });
    offset = end;
  }
  return plan;
}

/**
 * Verifies the store's trail from its first stored event to its head, rebuilding the tree.
 * Never throws for a bad trail: the first problem is the outcome, naming the event or the checkpoint.
 */
export async function verifyTrail(store: Store, options: TrailVerifyOptions = {}): Promise<TreeVerification> {
  const { onProgress } = options;
  const anchored = options.checkpoints !== undefined;
  const checkpoints = options.checkpoints ?? [];
  const [tree, purges, anchor, head] = await Promise.all([store.auditTree(), store.auditPurges(), store.auditAnchor(), store.auditHead()]);
  const base = tree.baseSeq;
  const sorted = [...checkpoints].sort((a, b) => a.size - b.size);
  const newest = sorted.at(-1);
  let count = 0;
  const fail = (problem: string, at: { seq?: number | undefined; checkpoint?: number; uncoveredPurge?: boolean } = {}): TreeVerification => ({
    ok: false, count, problem, ...(at.seq === undefined ? {} : { seq: at.seq }), ...(at.checkpoint === undefined ? {} : { checkpoint: at.checkpoint }), ...(at.uncoveredPurge === true ? { uncoveredPurge: true as const } : {}),
  });

  // Every purge must be anchored by a published checkpoint at or past it: deleting the oldest
  // events and writing a purge row is otherwise undetectable from the rest of the trail.
  for (const purge of purges) {
    if (purge.throughSeq <= base) continue;
    if (anchored && (newest === undefined || newest.size < purge.throughSeq - base)) {
      return fail(`the purge of events through ${purge.throughSeq} is not anchored by a published checkpoint (the newest covers ${newest?.size ?? 0} events): the oldest events were deleted without a covered retention purge`, { seq: purge.throughSeq });
    }
    if (purge.frontier === undefined) return fail(`the purge of events through ${purge.throughSeq} kept no tree frontier: it was forged`, { seq: purge.throughSeq });
  }

  // Start from the newest purge's kept frontier, or the tree's base.
  const start = purges.filter((p) => p.throughSeq > base && p.frontier !== undefined).at(-1);
  let frontier: MerkleFrontier = createMerkleFrontier(start?.frontier);
  const pending = sorted.filter((c) => c.size >= frontier.size);
  let matched = 0;
  let lastMatched = 0;
  /** Compares the tree's root at a checkpoint's size with the signed root. */
  const checkRoot = (checkpoint: SignedCheckpoint, root: MerkleHash): TreeVerification | undefined => {
    if (!sameHash(root, checkpoint.root)) {
      const from = base + lastMatched + 1;
      return fail(`checkpoint ${checkpoint.size} (root ${b64(checkpoint.root)}) does not match the trail, whose first ${checkpoint.size} events hash to ${b64(root)}: an event among ${from}–${base + checkpoint.size} was edited, deleted, inserted or re-hashed`, { checkpoint: checkpoint.size, seq: from });
    }
    matched += 1;
    lastMatched = checkpoint.size;
    return undefined;
  };
  // The purged part: rebuilt from the leaf hashes the purges kept, which must rebuild every
  // purge's kept frontier and the checkpoints published before the newest purge.
  const purged = await rebuildPurged(store, base, purges.filter((p) => p.throughSeq > base), sorted.filter((c) => c.size < frontier.size), checkRoot);
  if ('problem' in purged) return fail(purged.problem, { seq: purged.seq, ...(purged.checkpoint === undefined ? {} : { checkpoint: purged.checkpoint }) });
  const rebuiltFrom = purged.to > purged.from ? purged.from - base : frontier.size;
  const beforePurge = sorted.filter((c) => c.size < rebuiltFrom);
  lastMatched = frontier.size;
  while (pending[0] !== undefined && pending[0].size === frontier.size) {
    const mismatch = checkRoot(pending.shift() as SignedCheckpoint, frontier.root());
    if (mismatch !== undefined) return mismatch;
  }

  // Rebuild the tree over the stored events, in one part or in aligned parts at once. Each
  // event's stored leaf hash (or legacy chain link) names a naively edited event; the rebuilt
  // roots catch what it cannot (a consistent re-hash).
  const first = frontier.size;
  const expected = Math.max(0, head.seq - base - first);
  const parts = options.parallel === undefined ? 1 : options.parallel.parts(expected);
  const plan = planSegments(first, first + expected, parts);
  const sizes = [...new Set(pending.map((c) => c.size))];
  const segments: TreeSegment[] = plan.map((part, i) => ({
    afterSeq: base + part.offset,
    throughSeq: part.end === Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : base + part.end,
    base, chainThrough: tree.chainThrough,
    ...(i === 0 ? { chainAnchor: anchor } : {}),
    start: i === 0 ? frontier.state() : { size: 0, hashes: [] },
    offset: i === 0 ? 0 : part.offset,
    reportAt: sizes.filter((size) => size > part.offset && size <= part.end),
  }));
  const counts = segments.map(() => 0);
  let reported = 0;
  const progress = (i: number, n: number): void => {
    counts[i] = n;
    const sum = counts.reduce((a, b) => a + b, 0);
    if (onProgress !== undefined && sum - reported >= PROGRESS_EVERY) {
      reported = sum - (sum % PROGRESS_EVERY);
      onProgress(reported);
    }
  };
  let results: TreeSegmentResult[];
  if (segments.length === 1 || options.parallel === undefined) {
    results = [await rebuildSegment(store, segments[0] as TreeSegment, (n) => progress(0, n))];
  } else {
    const { run, onSplit } = options.parallel;
    onSplit?.(expected, segments.length);
    results = await Promise.all(segments.map((segment, i) => run(segment, (n) => progress(i, n))));
  }
  // Join the parts in trail order; the first problem or checkpoint mismatch in trail order wins.
  // The nodes the joins complete (spanning parts) join the parts' own, to be checked at the end.
  const spanning: RebuiltNode[] = [];
  const onJoin = (height: number, index: number, hash: MerkleHash): void => {
    if (height >= AUDIT_TREE_NODES_FROM_HEIGHT) spanning.push({ height, index, hash });
  };
  for (const [i, result] of results.entries()) {
    const joined = (state: MerkleFrontierState): MerkleFrontier => {
      if (i === 0) return createMerkleFrontier(state);
      const whole = createMerkleFrontier(frontier.state());
      appendFrontier(whole, state);
      return whole;
    };
    for (const { size, state } of result.frontiers) {
      const root = joined(state).root();
      while (pending[0] !== undefined && pending[0].size === size) {
        const mismatch = checkRoot(pending.shift() as SignedCheckpoint, root);
        if (mismatch !== undefined) return mismatch;
      }
      count = size - first;
    }
    count = (plan[i]?.offset ?? first) - first + result.count;
    if (result.problem !== undefined) return fail(result.problem, { seq: result.seq });
    if (i === 0) frontier = createMerkleFrontier(result.end);
    else appendFrontier(frontier, result.end, onJoin);
  }
  count = frontier.size - first;
  const unreached = pending[0];
  if (unreached !== undefined) {
    return fail(`checkpoint ${unreached.size} covers events through ${base + unreached.size}, but the store's trail ends at event ${base + frontier.size}: events ${base + frontier.size + 1}–${base + unreached.size} were deleted, or the store was rolled back to an older copy`, { checkpoint: unreached.size, seq: base + frontier.size + 1 });
  }
  const end = base + frontier.size;
  if (head.seq > end) return fail(`event ${end + 1}${head.seq - end > 1 ? `–${head.seq}` : ''} is missing: the trail ends at event ${end} but its recorded head is ${head.seq}`, { seq: end + 1 });
  if (head.seq < end) return fail(`the trail's recorded head (${head.seq}) is behind its last event (${end}): the head was moved back`, { seq: head.seq + 1 });
  // The head names its event by hash too; that event's own hash was checked against its body above.
  for await (const [last] of store.readAuditTrail(1, { afterSeq: end - 1, throughSeq: end })) {
    if (last !== undefined && last.seq === end && last.hash !== head.hash) {
      return fail(`the trail's recorded head names event ${end} with hash ${head.hash}, but that event's hash is ${last.hash}: the head was edited`, { seq: end });
    }
  }

  // A purge is the retention purge only if the trail records it (see checkPurges).
  // (Read only when there are purges to check: the type column has no index of its own.)
  // (Its type column was checked against its body with the rest, so the query can be trusted.)
  if (purges.some((p) => p.throughSeq > base)) {
    const purgeEvents = await store.queryAudit({ types: ['audit.purged'], limit: 10_000 });
    const problem = checkPurges(purges.filter((p) => p.throughSeq > base), base, purgeEvents, purged, anchored ? base + (newest?.size ?? 0) : undefined);
    if (problem !== undefined) return fail(problem.problem, { seq: problem.seq, uncoveredPurge: problem.uncovered === true });
  }
  const stored = createMerkleFrontier(tree.frontier);
  if (stored.size !== frontier.size || !sameHash(stored.root(), frontier.root())) {
    return fail(`the stored tree (${stored.size} events, root ${b64(stored.root())}) is not the tree of the stored events (${frontier.size}, root ${b64(frontier.root())}): it was edited`);
  }
  // Last, the interior nodes stored for proofs: each must be the node rebuilt from the bodies
  // (the same set however the rebuild was split: parts and joins together complete every node).
  const rebuilt = [...results.flatMap((r) => r.nodes ?? []), ...spanning]
    .sort((a, b) => (a.index + 1) * 2 ** a.height - (b.index + 1) * 2 ** b.height || a.height - b.height);
  for (const node of rebuilt) {
    const kept = await store.auditTreeNode(node.height, node.index);
    if (kept !== undefined && !sameHash(kept, node.hash)) {
      const from = base + node.index * 2 ** node.height + 1;
      const to = from + 2 ** node.height - 1;
      return fail(`the stored tree node at height ${node.height}, index ${node.index} (table audit_tree_nodes) is not the hash of events ${from}–${to}: it was edited, and proofs that read it fail; restore a backup taken before the edit`, { seq: to });
    }
  }
  return { ok: true, count, matched, beforePurge: beforePurge.length, treeSize: frontier.size, root: frontier.root(), lastSeq: end };
}

/** The problem of an event whose stored column disagrees with its body. */
function columnProblem(column: { seq: number; column: string }): string {
  if (column.column === 'body') return `event ${column.seq}'s body is not JSON: it was edited, and no column can be checked against it`;
  return `event ${column.seq}'s stored ${column.column} column does not match its hashed body: queries filtering on ${column.column} would show it wrongly`;
}

/** The first event a problem names ("event 12 …", "event 12–14 …"). */
function firstSeqIn(problem: string): number | undefined {
  const match = /^event (\d+)/.exec(problem);
  return match === null ? undefined : Number(match[1]);
}
