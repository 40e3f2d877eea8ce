/**
 * The audit trail in SQLite. Invariants:
 * - events are sealed and inserted only inside a write of the write queue, after the head
 *   read in that same transaction, and `audit_head` moves with them, so the chain never forks
 *   and its newest link is recorded apart from the events;
 * - the only statement that deletes events is in `purge`, which first verifies the part it
 *   removes (it refuses to hide a break) and leaves a checkpoint anchoring the rest.
 * The head is cached in memory only for the length of a batch: the write queue calls
 * `resetHead` at every batch start and after every rollback, and `flushHead` before every
 * commit (and after each write when it isolates writes in savepoints), so `audit_head` is
 * written once per transaction yet always commits with the events that moved it.
 */
import type Database from 'better-sqlite3';
import {
  GENESIS_ANCHOR, PortcullisError, sealAuditEvent, verifyAuditChain,
  type AuditEventDraft, type ChainAnchor, type SealedAuditEvent,
} from '@portcullis/core';
import { auditEventToRow, rowToSealedEvent, rowToStoredEvent } from '../store-rows.js';
import { clampLimit } from '../store-guards.js';
import type { AuditFilter, StoredAuditEvent } from '../store.js';

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
  /** The latest checkpoint, or the genesis. */
  anchor(): ChainAnchor;
  query(filter: AuditFilter): StoredAuditEvent[];
  /** Up to `limit` sealed events after `afterSeq` and through `throughSeq`, in order. */
  chainPage(afterSeq: number, limit: number, throughSeq: number): SealedAuditEvent[];
  /** Deletes events older than `before` as a prefix of the chain. Call only inside a write. */
  purge(before: number, at: number, actor: string): { purged: number; anchor: ChainAnchor };
}

interface SealedRow {
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

  const readHead = (): ChainAnchor => {
    const row = prepare('SELECT seq, hash FROM audit_head WHERE id = 1').get() as { seq: number; hash: string } | undefined;
    if (row === undefined) throw new PortcullisError('STORE_UNAVAILABLE', 'the audit head is missing: the store was not migrated; run migrate() first; nothing was executed');
    return { seq: row.seq, hash: row.hash };
  };

  const readAnchor = (): ChainAnchor => {
    const row = prepare('SELECT through_seq, anchor_hash FROM audit_checkpoints ORDER BY through_seq DESC LIMIT 1')
      .get() as { through_seq: number; anchor_hash: string } | undefined;
    return row === undefined ? GENESIS_ANCHOR : { seq: row.through_seq, hash: row.anchor_hash };
  };

  function append(drafts: readonly AuditEventDraft[]): SealedAuditEvent[] {
    if (drafts.length === 0) return [];
    let head = cachedHead ?? readHead();
    // Positional parameters: binding by name costs a lookup per column per event.
    const insert = prepare(`INSERT INTO audit_events (seq, at, type, workflow, proposal_id, actor_id, body, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const sealed = drafts.map((draft) => {
      const event = sealAuditEvent(draft, head.seq + 1, head.hash);
      const row = auditEventToRow(draft, event);
      insert.run(row.seq, row.at, row.type, row.workflow, row.proposal_id, row.actor_id, row.body, row.prev_hash, row.hash);
      head = { seq: event.seq, hash: event.hash };
      return event;
    });
    cachedHead = head;
    headMoved = true;
    return sealed;
  }

  function query(filter: AuditFilter): StoredAuditEvent[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    // An empty list matches nothing (a lead of no workflow sees no events), never everything.
    const list = (column: string, values: readonly string[] | undefined): boolean => {
      if (values === undefined) return true;
      if (values.length === 0) return false;
      where.push(`${column} IN (SELECT value FROM json_each(?))`);
      args.push(JSON.stringify(values));
      return true;
    };
    const eq = (clause: string, value: string | number | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    if (!list('workflow', filter.workflows) || !list('type', filter.types)) return [];
    eq('proposal_id = ?', filter.proposalId);
    eq('actor_id = ?', filter.actorId);
    eq('at >= ?', filter.from);
    eq('at <= ?', filter.to);
    eq('seq > ?', filter.afterSeq);
    eq('seq < ?', filter.beforeSeq);
    const limit = clampLimit(filter.limit, 100);
    if (limit === 0) return [];
    const order = filter.order === 'desc' ? 'DESC' : 'ASC';
    const filters = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
    // A workflow's events in a time window: every condition is answered by the
    // (workflow, at) index alone (seq, the rowid, is in each entry), so the page's sequence
    // numbers are found without reading a row, and only the page's rows are read.
    const byWorkflowAndTime = filter.workflows !== undefined && (filter.from !== undefined || filter.to !== undefined)
      && filter.types === undefined && filter.proposalId === undefined && filter.actorId === undefined;
    const sql = byWorkflowAndTime
      ? `SELECT body, prev_hash, hash FROM audit_events WHERE seq IN (
          SELECT seq FROM audit_events INDEXED BY audit_events_workflow_at${filters} ORDER BY seq ${order} LIMIT ?
        ) ORDER BY seq ${order}`
      : `SELECT body, prev_hash, hash FROM audit_events${filters} ORDER BY seq ${order} LIMIT ?`;
    const rows = prepare(sql).all(...args, limit) as SealedRow[];
    return rows.map(rowToStoredEvent);
  }

  function chainPage(afterSeq: number, limit: number, throughSeq: number): SealedAuditEvent[] {
    // Rows as arrays, not objects: verifying reads every event, and the per-row object showed
    // in profiles. This statement is prepared only here, so its raw mode affects no one else.
    const rows = prepare('SELECT seq, body, prev_hash, hash FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?')
      .raw().all(afterSeq, throughSeq, limit) as [number, string, string, string][];
    const page: SealedAuditEvent[] = new Array<SealedAuditEvent>(rows.length);
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i] as [number, string, string, string];
      page[i] = { seq: row[0], body: row[1], prevHash: row[2], hash: row[3] };
    }
    return page;
  }

  function purge(before: number, at: number, actor: string): { purged: number; anchor: ChainAnchor } {
    const anchor = readAnchor();
    const head = cachedHead ?? readHead();
    // Only a prefix of the chain can go: stop at the first event at or after `before`, even if
    // a later one carries an older time.
    const firstKept = (prepare('SELECT seq FROM audit_events WHERE at >= ? ORDER BY seq LIMIT 1').get(before) as { seq: number } | undefined)?.seq;
    const through = firstKept === undefined ? head.seq : firstKept - 1;
    if (through <= anchor.seq) return { purged: 0, anchor };

    // Verify what is removed, and its link to what stays, before the evidence is gone.
    const segment = (prepare('SELECT seq, body, prev_hash, hash FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq')
      .iterate(anchor.seq, through + 1) as IterableIterator<SealedRow>);
    const check = verifyAuditChain(mapIterable(segment, rowToSealedEvent), anchor, firstKept === undefined ? head : undefined);
    if (!check.ok) {
      throw new PortcullisError('INTERNAL', `refusing to purge the audit trail: it does not verify (${check.break.problem}); a purge would hide the break, so investigate it first; nothing was deleted`, { break: check.break });
    }
    const anchorHash = (prepare('SELECT hash FROM audit_events WHERE seq = ?').get(through) as { hash: string }).hash;

    prepare('INSERT INTO audit_purge_permit (through_seq) VALUES (?)').run(through);
    const purged = prepare('DELETE FROM audit_events WHERE seq <= ?').run(through).changes;
    prepare('DELETE FROM audit_purge_permit').run();
    prepare('INSERT INTO audit_checkpoints (through_seq, anchor_hash, purged_at, actor) VALUES (?, ?, ?, ?)').run(through, anchorHash, at, actor);
    append([{
      type: 'audit.purged', at, actor: { kind: 'system', id: actor },
      data: { throughSeq: through, anchorHash, purged, before },
    }]);
    return { purged, anchor: { seq: through, hash: anchorHash } };
  }

  return {
    append,
    resetHead: () => { cachedHead = undefined; headMoved = false; },
    flushHead() {
      if (!headMoved || cachedHead === undefined) return;
      prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(cachedHead.seq, cachedHead.hash);
      headMoved = false;
    },
    head: readHead,
    anchor: readAnchor,
    query,
    chainPage,
    purge,
  };
}

function* mapIterable<A, B>(items: Iterable<A>, map: (item: A) => B): Generator<B> {
  for (const item of items) yield map(item);
}
