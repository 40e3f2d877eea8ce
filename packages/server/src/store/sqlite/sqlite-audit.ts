/**
 * The audit trail in SQLite. Invariants:
 * - events are sealed and inserted only inside a write of the write queue, after the head
 *   read in that same transaction, and `audit_head` moves with them, so the trail never forks
 *   and its newest event is recorded apart from the events;
 * - every appended event is a leaf of the trail's RFC 6962 Merkle tree, and sealing it costs
 *   one hash, its body's leaf hash (stored in `hash` as hex; `prev_hash` stays empty), appended
 *   to the stored frontier in the same transaction: O(log n) node hashes per event, the tree's
 *   size always equals the head's seq less its base, or appends are refused. Interior nodes of
 *   height NODE_MIN_HEIGHT and more are kept in `audit_tree_nodes` as they complete, so an
 *   inclusion proof needs no full read of the trail;
 * - events up to `audit_tree.chain_through` were sealed into the legacy hash chain; they are
 *   verified link by link before the tree is built over them (`catchUpTree`), and never rewritten;
 * - the only statement that deletes events is in `purge`, which first verifies the whole stored
 *   trail against the stored tree (it refuses to hide a break) and keeps the tree's frontier at
 *   the purge point.
 * The head and the tree are cached in memory only for the length of a batch: the write queue calls
 * `resetHead` at every batch start and after every rollback, and `flushHead` before every
 * commit (and after each write when it isolates writes in savepoints), so `audit_head` and
 * `audit_tree` are written once per transaction yet always commit with the events that moved them.
 */
import type Database from 'better-sqlite3';
import {
  GENESIS_ANCHOR, PortcullisError, auditPurgeRecords, sameHash, createChainVerifier, createTrailChecker, createMerkleFrontier, merkleLeafHash, sealAuditEvent,
  type AuditEventDraft, type AuditPurgeRecord, type ChainAnchor, type MerkleFrontier, type MerkleFrontierState, type MerkleHash, type SealedAuditEvent,
} from '@portcullis/core';
import { auditEventToRow, hashHex, rowToAuditRecord, rowToStoredEvent } from '../store-rows.js';
import { clampLimit } from '../store-guards.js';
import { auditQuerySql } from './sqlite-audit-query.js';
import { AUDIT_TREE_NODES_FROM_HEIGHT, type AuditColumnMismatch, type AuditFilter, type AuditPurge, type AuditTreeState, type PurgedLeaf, type StoredAuditEvent, type StoredAuditRecord } from '../store.js';

/** The lowest height of the interior nodes kept in `audit_tree_nodes`: subtrees of 256 leaves and more. */
export const NODE_MIN_HEIGHT = AUDIT_TREE_NODES_FROM_HEIGHT;

/** Prepares (and caches) a statement. */
export type Prepare = (sql: string) => Database.Statement;

/** The audit trail of one connection. */
export interface SqliteAuditLog {
  /** Seals drafts after the head and inserts them. Call only inside a write. */
  append(drafts: readonly AuditEventDraft[]): SealedAuditEvent[];
  /** Forgets the cached head (and any change not yet written). */
  resetHead(): void;
  /** Records the cached head in `audit_head` if appends moved it. Call only inside a write. */
  flushHead(): void;
  /** The head as recorded in `audit_head`. */
  head(): ChainAnchor;
  /** The last purge's anchor, or the genesis. */
  anchor(): ChainAnchor;
  query(filter: AuditFilter): StoredAuditEvent[];
  /** Up to `limit` stored events after `afterSeq` and through `throughSeq`, in order; with `checkColumns`, each names its first column that disagrees with its body. */
  trailPage(afterSeq: number, limit: number, throughSeq: number, checkColumns?: boolean): StoredAuditRecord[];
  /** Deletes events older than `before` as a prefix of the trail. Call only inside a write. */
  purge(before: number, at: number, actor: string): { purged: number; anchor: ChainAnchor };
  /** The stored tree. */
  tree(): AuditTreeState;
  /** A stored interior node (height ≥ NODE_MIN_HEIGHT), if kept. */
  treeNode(height: number, index: number): MerkleHash | undefined;
  /** Every purge, oldest first. */
  purges(): AuditPurge[];
  /** Up to `limit` leaf hashes kept by purges, after `afterSeq` and through `throughSeq`, in order. */
  purgedLeavesPage(afterSeq: number, limit: number, throughSeq: number): PurgedLeaf[];
  /** Adds the events the tree does not cover yet (a trail from before the tree), verifying their chain first. Call only inside a write, right after migrating. */
  catchUpTree(): number;
  /** Records the interior nodes of the tree over the stored events (a tree from before nodes were kept). Call only inside a write, right after migrating. */
  fillTreeNodes(): number;
  /** The first event after `afterSeq` through `throughSeq` whose columns disagree with its body. */
  columnMismatch(afterSeq: number, throughSeq: number): AuditColumnMismatch | undefined;
}

/** A frontier as one blob: its hashes, 32 bytes each, largest subtree first. */
export function frontierToBlob(state: MerkleFrontierState): Buffer {
  return Buffer.concat(state.hashes.map((h) => Buffer.from(h.buffer, h.byteOffset, h.byteLength)));
}

/** The frontier of a tree of `size` leaves from its blob. @throws RangeError if the blob does not fit the size. */
export function blobToFrontier(size: number, blob: Uint8Array): MerkleFrontierState {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < blob.length; i += 32) hashes.push(Uint8Array.prototype.slice.call(blob, i, i + 32));
  return createMerkleFrontier({ size, hashes }).state();
}

// The columns queries filter on, each derived from the body at insert. The first test (one
// JSON parse per row, text compared) may flag a row whose strings SQLite quotes differently;
// the second compares SQL values exactly, column by column, and names the column.
const COLUMN_PREFILTER = `json_extract(body, '$.seq', '$.at', '$.type', '$.workflow', '$.proposalId', '$.actor.id')
  IS NOT json_array(seq, at, type, workflow, proposal_id, actor_id)`;
const COLUMN_CHECK = `CASE
  WHEN NOT json_valid(body) THEN 'body'
  WHEN seq IS NOT json_extract(body, '$.seq') THEN 'seq'
  WHEN at IS NOT json_extract(body, '$.at') THEN 'at'
  WHEN type IS NOT json_extract(body, '$.type') THEN 'type'
  WHEN workflow IS NOT json_extract(body, '$.workflow') THEN 'workflow'
  WHEN proposal_id IS NOT json_extract(body, '$.proposalId') THEN 'proposal_id'
  WHEN actor_id IS NOT json_extract(body, '$.actor.id') THEN 'actor_id'
  END`;

interface TrailRow {
  seq: number;
  body: string;
  prev_hash: string;
  hash: string;
}

/** Creates the audit trail over a connection's statements. */
export function createSqliteAuditLog(prepare: Prepare): SqliteAuditLog {
  let cachedHead: ChainAnchor | undefined;
  // Whether appends moved the head since it was last written to `audit_head`: it is written
  // once per transaction (see the write queue's `flush`), not once per append.
  let headMoved = false;
  let cachedTree: { baseSeq: number; frontier: MerkleFrontier } | undefined;

  const readTree = (): AuditTreeState => {
    const row = prepare('SELECT base_seq, size, frontier, chain_through FROM audit_tree WHERE id = 1').get() as { base_seq: number; size: number; frontier: Buffer; chain_through: number } | undefined;
    if (row === undefined) throw new PortcullisError('STORE_UNAVAILABLE', 'the audit tree is missing (table audit_tree has no row): the store was edited, or is not a Portcullis store; restore a backup taken before the edit and check it with `portcullis audit verify`; nothing was executed');
    try {
      return { baseSeq: row.base_seq, chainThrough: row.chain_through, frontier: blobToFrontier(row.size, row.frontier) };
    } catch (error) {
      throw new PortcullisError('STORE_UNAVAILABLE', `the audit tree's stored frontier is damaged (${(error as Error).message}): the store was edited; run \`portcullis audit verify\`; nothing was executed`);
    }
  };

  /** The tree to append to, checked against the head: a tree that does not end at the head means the trail was edited. */
  const liveTree = (head: ChainAnchor): { baseSeq: number; frontier: MerkleFrontier } => {
    if (cachedTree !== undefined) return cachedTree;
    const state = readTree();
    if (state.baseSeq + state.frontier.size !== head.seq) {
      throw new PortcullisError('STORE_UNAVAILABLE', `the audit tree ends at event ${state.baseSeq + state.frontier.size} but the trail's head is event ${head.seq}: the store was edited or not migrated; run \`portcullis audit verify\`; nothing was written`);
    }
    cachedTree = { baseSeq: state.baseSeq, frontier: createMerkleFrontier(state.frontier) };
    return cachedTree;
  };

  const readHead = (): ChainAnchor => {
    const row = prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
    if (row === undefined) throw new PortcullisError('STORE_UNAVAILABLE', 'the audit head is missing (table audit_head has no row): the store was edited, or is not a Portcullis store; restore a backup taken before the edit and check it with `portcullis audit verify`; nothing was executed');
    return { seq: row.seq, hash: row.hash };
  };

  const readAnchor = (): ChainAnchor => {
    const row = prepare('SELECT through_seq, anchor_hash FROM audit_purges ORDER BY through_seq DESC LIMIT 1')
      .get() as { through_seq: number; anchor_hash: string } | undefined;
    return row === undefined ? GENESIS_ANCHOR : { seq: row.through_seq, hash: row.anchor_hash };
  };

  /**
   * Keeps a completed interior node if it is tall enough (INSERT OR IGNORE: a node is the same
   * whenever it is recomputed). One already there with another hash was planted before its
   * events existed: proofs would read it, so nothing is appended.
   */
  const keepNode = (height: number, index: number, hash: MerkleHash): void => {
    if (height < NODE_MIN_HEIGHT) return;
    if (prepare('INSERT OR IGNORE INTO audit_tree_nodes (height, idx, hash) VALUES (?, ?, ?)').run(height, index, hash).changes > 0) return;
    const kept = (prepare('SELECT hash FROM audit_tree_nodes WHERE height = ? AND idx = ?').get(height, index) as { hash: Buffer } | undefined)?.hash;
    if (kept !== undefined && !sameHash(new Uint8Array(kept), hash)) {
      throw new PortcullisError('STORE_UNAVAILABLE', `the stored audit tree node at height ${height}, index ${index} (table audit_tree_nodes) was there before its events were appended, with another hash: the store was edited; restore a backup taken before the edit; nothing was written`);
    }
  };

  function append(drafts: readonly AuditEventDraft[]): SealedAuditEvent[] {
    if (drafts.length === 0) return [];
    const head = cachedHead ?? readHead();
    let seq = head.seq;
    const tree = liveTree(head).frontier;
    // Positional parameters: binding by name costs a lookup per column per event.
    const insert = prepare(`INSERT INTO audit_events (seq, at, type, workflow, proposal_id, actor_id, body, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    let hash = '';
    const sealed = drafts.map((draft) => {
      seq += 1;
      const event = sealAuditEvent(draft, seq);
      const row = auditEventToRow(draft, event);
      insert.run(row.seq, row.at, row.type, row.workflow, row.proposal_id, row.actor_id, row.body, row.prev_hash, row.hash);
      tree.append(event.leafHash, keepNode);
      hash = row.hash;
      return event;
    });
    cachedHead = { seq, hash };
    headMoved = true;
    return sealed;
  }

  function query(filter: AuditFilter): StoredAuditEvent[] {
    const limit = clampLimit(filter.limit, 100);
    const query = limit === 0 ? undefined : auditQuerySql(filter, limit);
    if (query === undefined) return [];
    const rows = prepare(query.sql).all(...query.args) as { body: string; tree_index: number }[];
    return rows.map(rowToStoredEvent);
  }

  function trailPage(afterSeq: number, limit: number, throughSeq: number, checkColumns = false): StoredAuditRecord[] {
    // Rows as arrays, not objects: verifying reads every event, and the per-row object showed
    // in profiles. These statements are prepared only here, so their raw mode affects no one else.
    // With checkColumns, the column check rides on the read that verifying makes anyway:
    // COLUMN_CHECK per row (one JSON parse in SQLite, what the prefilter costs; it also names a
    // body that is not JSON), no second scan of the trail.
    const rows = prepare(`SELECT seq, body, prev_hash, hash, ${checkColumns ? COLUMN_CHECK : 'NULL'} FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
      .raw().all(afterSeq, throughSeq, limit) as [number, string, string, string, string | null][];
    const page: StoredAuditRecord[] = new Array<StoredAuditRecord>(rows.length);
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i] as [number, string, string, string, string | null];
      page[i] = row[4] === null
        ? { seq: row[0], body: row[1], prevHash: row[2], hash: row[3] }
        : { seq: row[0], body: row[1], prevHash: row[2], hash: row[3], column: row[4] };
    }
    return page;
  }

  function purges(): AuditPurge[] {
    const rows = prepare('SELECT through_seq, tree_frontier FROM audit_purges ORDER BY through_seq').all() as { through_seq: number; tree_frontier: Buffer | null }[];
    const base = readTree().baseSeq;
    return rows.map((row) => {
      if (row.tree_frontier === null) return { throughSeq: row.through_seq };
      try {
        return { throughSeq: row.through_seq, frontier: blobToFrontier(row.through_seq - base, row.tree_frontier) };
      } catch (error) {
        throw new PortcullisError('STORE_UNAVAILABLE', `the purge record of events through ${row.through_seq} (table audit_purges) is damaged: its kept tree frontier is wrong (${(error as Error).message}): the store was edited; restore a backup taken before the edit; nothing was executed`);
      }
    });
  }

  function purgedLeavesPage(afterSeq: number, limit: number, throughSeq: number): PurgedLeaf[] {
    const rows = prepare('SELECT seq, leaf_hash FROM audit_purged_leaves WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?')
      .raw().all(afterSeq, throughSeq, limit) as [number, Buffer][];
    return rows.map(([seq, leaf]) => ({ seq, leafHash: new Uint8Array(leaf) }));
  }

  /** The frontier the stored events start from: the last purge's kept frontier, or the empty tree at the base. */
  function startFrontier(state: AuditTreeState): MerkleFrontier {
    const last = purges().filter((p) => p.throughSeq > state.baseSeq && p.frontier !== undefined).at(-1);
    return createMerkleFrontier(last?.frontier);
  }

  function purge(before: number, at: number, actor: string): { purged: number; anchor: ChainAnchor } {
    const anchor = readAnchor();
    const head = cachedHead ?? readHead();
    // Only a prefix of the trail can go: stop at the first event at or after `before`, even if
    // a later one carries an older time.
    const firstKept = (prepare('SELECT seq FROM audit_events WHERE at >= ? ORDER BY seq LIMIT 1').get(before) as { seq: number } | undefined)?.seq;
    const through = firstKept === undefined ? head.seq : firstKept - 1;
    if (through <= anchor.seq) return { purged: 0, anchor };

    // Verify the whole stored trail against the stored tree before any evidence is gone, and
    // keep the tree's frontier at the purge point.
    const state = readTree();
    const base = state.baseSeq;
    const frontier = startFrontier(state);
    const check = createTrailChecker(state.chainThrough, anchor, base + frontier.size + 1);
    let purgeFrontier: MerkleFrontierState | undefined;
    let anchorHash = anchor.hash;
    // The deleted events' leaf hashes are kept: every checkpoint published before the purge stays provable.
    const leaves: [number, Buffer][] = [];
    const refuse = (problem: string): never => {
      throw new PortcullisError('INTERNAL', `refusing to purge the audit trail: it does not verify (${problem}); a purge would hide the break, so investigate it with \`portcullis audit verify\` first; nothing was deleted`, { problem });
    };
    const rows = prepare('SELECT seq, body, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq').iterate(base + frontier.size) as IterableIterator<TrailRow>;
    for (const row of rows) {
      const checked = check(rowToAuditRecord(row));
      if (typeof checked === 'string') refuse(checked);
      else {
        frontier.append(checked);
        if (row.seq <= through) leaves.push([row.seq, Buffer.from(checked.buffer, checked.byteOffset, checked.byteLength)]);
      }
      if (row.seq === through) { purgeFrontier = frontier.state(); anchorHash = row.hash; }
    }
    if (base + frontier.size !== head.seq) refuse(`the trail ends at event ${base + frontier.size} but its head is event ${head.seq}`);
    const stored = cachedTree?.frontier ?? createMerkleFrontier(state.frontier);
    if (stored.size !== frontier.size || hashHex(stored.root()) !== hashHex(frontier.root())) refuse('the stored tree is not the tree of the stored events');
    const treeRoot = purgeFrontier === undefined ? undefined : hashHex(createMerkleFrontier(purgeFrontier).root());
    // This purge may delete the events of earlier purges: its own event lists them, so the trail
    // keeps recording every purge (read before anything is deleted).
    const earlierPurges = recordedPurges();

    const keepLeaf = prepare('INSERT INTO audit_purged_leaves (seq, leaf_hash) VALUES (?, ?)');
    for (const [seq, leaf] of leaves) keepLeaf.run(seq, leaf);
    prepare('INSERT INTO audit_purge_permit (through_seq) VALUES (?)').run(through);
    const purged = prepare('DELETE FROM audit_events WHERE seq <= ?').run(through).changes;
    prepare('DELETE FROM audit_purge_permit').run();
    prepare('INSERT INTO audit_purges (through_seq, anchor_hash, purged_at, actor, tree_frontier) VALUES (?, ?, ?, ?, ?)')
      .run(through, anchorHash, at, actor, purgeFrontier === undefined ? null : frontierToBlob(purgeFrontier));
    append([{
      type: 'audit.purged', at, actor: { kind: 'system', id: actor },
      data: { throughSeq: through, anchorHash, purged, before, leavesKept: true, ...(treeRoot === undefined ? {} : { treeSize: through - base, treeRoot }), earlierPurges },
    }]);
    return { purged, anchor: { seq: through, hash: anchorHash } };
  }

  /** Every purge the newest `audit.purged` event records, oldest first (core `auditPurgeRecords`). */
  function recordedPurges(): AuditPurgeRecord[] {
    const [newest] = query({ types: ['audit.purged'], order: 'desc', limit: 1 });
    return newest === undefined ? [] : auditPurgeRecords(newest.data, newest.at);
  }

  function catchUpTree(): number {
    const state = readTree();
    const frontier = createMerkleFrontier(state.frontier);
    const from = state.baseSeq + frontier.size;
    const head = readHead();
    if (from >= head.seq) return 0;
    if (from >= state.chainThrough) {
      throw new PortcullisError('STORE_UNAVAILABLE', `the audit tree ends at event ${from} but the trail's head is event ${head.seq}, and those events were not sealed into the old chain: the store was edited; run \`portcullis audit verify\`; nothing was changed`);
    }
    // The old chain is verified first: the tree is never built over a trail that was already edited.
    const anchorRow = from === 0 ? undefined : prepare('SELECT hash FROM audit_events WHERE seq = ?').get(from) as { hash: string } | undefined;
    const anchor = from === 0 ? GENESIS_ANCHOR : from === readAnchor().seq ? readAnchor() : { seq: from, hash: anchorRow?.hash ?? '' };
    const chain = createChainVerifier(anchor);
    const rows = prepare('SELECT seq, body, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq').iterate(from) as IterableIterator<TrailRow>;
    let added = 0;
    // Nodes are written after the read: a connection cannot write while it iterates a query.
    const nodes: [number, number, MerkleHash][] = [];
    const collect = (height: number, index: number, hash: MerkleHash): void => { if (height >= NODE_MIN_HEIGHT) nodes.push([height, index, hash]); };
    for (const row of rows) {
      const broken = chain.push(rowToAuditRecord(row));
      if (broken !== undefined) {
        throw new PortcullisError('STORE_UNAVAILABLE', `cannot build the audit tree over the existing trail: ${broken.problem}; investigate with \`portcullis audit verify\`; nothing was changed`, { break: broken });
      }
      frontier.append(merkleLeafHash(row.body), collect);
      added += 1;
    }
    for (const [height, index, hash] of nodes) keepNode(height, index, hash);
    const finished = chain.finish(head);
    if (!finished.ok) throw new PortcullisError('STORE_UNAVAILABLE', `cannot build the audit tree over the existing trail: ${finished.break.problem}; nothing was changed`, { break: finished.break });
    prepare('UPDATE audit_tree SET size = ?, frontier = ? WHERE id = 1').run(frontier.size, frontierToBlob(frontier.state()));
    cachedTree = undefined;
    return added;
  }

  function fillTreeNodes(): number {
    const state = readTree();
    const frontier = startFrontier(state);
    const rows = prepare('SELECT body FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq').raw()
      .iterate(state.baseSeq + frontier.size, state.baseSeq + state.frontier.size) as IterableIterator<[string]>;
    const nodes: [number, number, MerkleHash][] = [];
    for (const [body] of rows) frontier.append(merkleLeafHash(body), (height, index, hash) => { if (height >= NODE_MIN_HEIGHT) nodes.push([height, index, hash]); });
    // Nodes are kept only from a trail that rebuilds the stored tree: an edited trail gets none
    // (its proofs are refused) and `audit verify` names the edit.
    const stored = createMerkleFrontier(state.frontier);
    if (frontier.size !== stored.size || hashHex(frontier.root()) !== hashHex(stored.root())) return 0;
    for (const [height, index, hash] of nodes) keepNode(height, index, hash);
    return nodes.length;
  }

  function treeNode(height: number, index: number): MerkleHash | undefined {
    const row = prepare('SELECT hash FROM audit_tree_nodes WHERE height = ? AND idx = ?').get(height, index) as { hash: Buffer } | undefined;
    return row === undefined ? undefined : new Uint8Array(row.hash);
  }

  function columnMismatch(afterSeq: number, throughSeq: number): AuditColumnMismatch | undefined {
    const rows = prepare(`SELECT seq, ${COLUMN_CHECK} AS col FROM audit_events WHERE seq > ? AND seq <= ? AND ${COLUMN_PREFILTER} ORDER BY seq`).raw().iterate(afterSeq, throughSeq) as IterableIterator<[number, string | null]>;
    for (const [seq, column] of rows) if (column !== null) return { seq, column };
    return undefined;
  }

  return {
    append,
    resetHead: () => { cachedHead = undefined; headMoved = false; cachedTree = undefined; },
    flushHead() {
      if (!headMoved || cachedHead === undefined) return;
      prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(cachedHead.seq, cachedHead.hash);
      if (cachedTree !== undefined) {
        const state = cachedTree.frontier.state();
        prepare('UPDATE audit_tree SET size = ?, frontier = ? WHERE id = 1').run(state.size, frontierToBlob(state));
      }
      headMoved = false;
    },
    tree: readTree,
    treeNode,
    purges,
    purgedLeavesPage,
    catchUpTree,
    fillTreeNodes,
    columnMismatch,
    head: readHead,
    anchor: readAnchor,
    query,
    trailPage,
    purge,
  };
}
