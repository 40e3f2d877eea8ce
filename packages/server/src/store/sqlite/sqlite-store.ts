/**
 * The SQLite adapter of the Store port: one connection, WAL, synchronous=FULL by default; WAL
 * checkpoints run on a second connection in a worker thread (sqlite-wal-checkpointer.ts).
 * Invariants (beyond those of the port, see store.ts):
 * - every write goes through the group-commit write queue (sqlite-write-queue.ts), so it is
 *   atomic with its audit events and durable before its promise resolves;
 * - reads run directly on the connection; the queue never leaves a transaction open between
 *   ticks, so they see committed data only;
 * - a failure of the database is STORE_UNAVAILABLE, and after `close` every method rejects.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AuditEventDraft, ChainAnchor, ProposalStatus, SealedAuditEvent } from '@portcullis/core';
import type {
  AuditColumnMismatch, AuditPurge, AuditTreeState, PurgedLeaf, ChainRange, AuditFilter, StoredAuditRecord, TrailRead, DisabledState, ProposalCount, ProposalFilter, ProposalPatch, ProposalRecord, ProposalUpdateExtras, RolloutRecord, Store, StoredAuditEvent, SubjectKind,
} from '../store.js';
import { normaliseProposal, patchToColumns, proposalToRow, rowToProposal, type ProposalRow } from '../store-rows.js';
import { assertPurgeOutsideRetention, clampLimit, storeClosed, storeWriteFailed } from '../store-guards.js';
import { createSqliteAuditLog } from './sqlite-audit.js';
import { createSqliteSecretsAndRuns } from './sqlite-secrets.js';
import { createSqliteMcpTables } from './sqlite-mcp.js';
import { createSqliteNotificationTables } from './sqlite-notifications.js';
import { toReadError } from './sqlite-errors.js';
import { migrateSqlite } from './sqlite-migrations.js';
import { createSqliteWriteQueue, type WriteOperation, type WriteQueueStats } from './sqlite-write-queue.js';
import { checkpointInWorker, type WalCheckpointerOptions, type WalCheckpointerStats } from './sqlite-wal-checkpointer.js';

/** Rows after `after` through `range.throughSeq`, in pages of up to `batchSize` fetched one at a time by seq. */
async function* pagesBySeq<T extends { readonly seq: number }>(after: number, batchSize: number, range: ChainRange, fetch: (after: number, size: number, through: number) => Promise<T[]>): AsyncIterable<readonly T[]> {
  const size = clampLimit(batchSize, 500) || 1;
  const through = range.throughSeq ?? Number.MAX_SAFE_INTEGER;
  for (let from = after; ;) {
    const page = await fetch(from, size, through);
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (last === undefined || page.length < size) return;
    from = last.seq;
  }
}

/** Options of `createSqliteStore`. */
export interface SqliteStoreOptions {
  /** The database file (its directory is created if missing), or ':memory:'. */
  readonly path: string;
  /** FULL (default) syncs every commit; NORMAL may lose the last commits on power loss. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long a write waits for another connection's lock before failing (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** The most writes in one transaction (default 1000). */
  readonly maxBatch?: number;
  /**
   * Where WAL checkpoints run (a file database only): `worker` (default), on a second
   * connection in a worker thread, off the event loop (sqlite-wal-checkpointer.ts); `inline`,
   * SQLite's automatic checkpoint inside the COMMIT that crosses 1,000 WAL pages.
   */
  readonly checkpoints?: 'worker' | 'inline';
  /** Settings of the checkpoint worker (tests). */
  readonly checkpointer?: Pick<WalCheckpointerOptions, 'intervalMs' | 'restartFrames' | 'driver'>;
}

/** The SQLite store, with test-only access to its connection and write-queue counters. */
export type SqliteStore = Store & {
  /** The raw connection. For tests only: writing through it bypasses every invariant. */
  readonly database: Database.Database;
  /** Write-queue counters (batches, commits, failures). */
  stats(): WriteQueueStats;
  /** What the WAL checkpoint worker did; undefined before the first commit, in memory, or with `checkpoints: 'inline'`. */
  checkpointStats(): WalCheckpointerStats | undefined;
  /** Resolves once no checkpoint of the worker is running or due (tests). */
  checkpointsIdle(): Promise<void>;
};

/** A database can still grow by this many pages, or checkWritable reports it as full. */
const MIN_HEADROOM_PAGES = 16;

/**
 * Opens (creating if needed) a SQLite store. Call `migrate()` before use.
 * @throws PortcullisError STORE_UNAVAILABLE if the file cannot be opened or configured.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const db = open(options);
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const audit = createSqliteAuditLog(prepare);
  const secrets = createSqliteSecretsAndRuns(prepare, audit);
  const mcp = createSqliteMcpTables(prepare, audit);
  const notifications = createSqliteNotificationTables(prepare, audit);
  const walCheckpoints = options.path === ':memory:' || options.checkpoints === 'inline' ? undefined : checkpointInWorker(db, options.path, options.checkpointer);
  const queue = createSqliteWriteQueue(db, {
    maxBatch: options.maxBatch, onReset: audit.resetHead, flush: audit.flushHead,
    ...(walCheckpoints === undefined ? {} : { beforeBatch: walCheckpoints.beforeBatch, afterCommit: walCheckpoints.afterCommit }),
  });
  let closed = false;
  let closing: Promise<void> | undefined;

  const write = <T>(operation: WriteOperation<T>): Promise<T> => (closed ? Promise.reject(storeClosed()) : queue.run(operation));
  const read = <T>(query: () => T): Promise<T> => {
    if (closed) return Promise.reject(storeClosed());
    try {
      return Promise.resolve(query());
    } catch (error) {
      return Promise.reject(toReadError(error));
    }
  };
  const proposalById = (id: string): ProposalRecord | undefined => {
    const row = prepare('SELECT * FROM proposals WHERE id = ?').get(id) as ProposalRow | undefined;
    return row === undefined ? undefined : rowToProposal(row);
  };
  const proposalByKey = (agent: string, key: string): ProposalRecord | undefined => {
    const row = prepare('SELECT * FROM proposals WHERE agent = ? AND idempotency_key = ?').get(agent, key) as ProposalRow | undefined;
    return row === undefined ? undefined : rowToProposal(row);
  };
  const proposals = (sql: string, ...args: unknown[]): ProposalRecord[] => (prepare(sql).all(...args) as ProposalRow[]).map(rowToProposal);

  return {
    kind: 'sqlite',
    database: db,
    stats: () => queue.stats(),
    checkpointStats: () => walCheckpoints?.stats(),
    checkpointsIdle: () => walCheckpoints?.idle() ?? Promise.resolve(),

    migrate: () => write((conn) => {
      const applied = migrateSqlite(conn, Date.now());
      audit.catchUpTree();
      if (applied.includes(9)) audit.fillTreeNodes();
    }),

    // async: an encoding error (a value JSON cannot carry) rejects instead of throwing.
    async insertProposal(proposal: ProposalRecord, events: readonly AuditEventDraft[]) {
      const row = proposalToRow(proposal);
      return write(() => {
        if (proposal.idempotencyKey !== undefined) {
          const existing = proposalByKey(proposal.agent, proposal.idempotencyKey);
          if (existing !== undefined) return { created: false, proposal: existing };
        }
        // Positional parameters: binding by name costs a lookup per column.
        const columns = Object.keys(row);
        prepare(`INSERT INTO proposals (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...Object.values(row));
        audit.append(events);
        return { created: true, proposal: normaliseProposal(proposal) };
      });
    },

    async updateProposal(id: string, from: ProposalStatus, patch: ProposalPatch, events: readonly AuditEventDraft[], also?: ProposalUpdateExtras) {
      const columns = { ...patchToColumns(patch), id, from };
      return write(() => {
        // Compare-and-set: the WHERE on status is what makes two callers unable to both leave `from`.
        const row = prepare(`UPDATE proposals SET status = @status, updated_at = @updated_at,
            expires_at = COALESCE(@expires_at, expires_at), approval = COALESCE(@approval, approval),
            result = COALESCE(@result, result), undo = COALESCE(@undo, undo), error = COALESCE(@error, error)
          WHERE id = @id AND status = @from RETURNING *`).get(columns) as ProposalRow | undefined;
        if (row === undefined) return undefined;
        audit.append(events);
        if (also?.advanceCall !== undefined) mcp.advanceCallGeneration(row.agent, also.advanceCall.call, also.advanceCall.from);
        return rowToProposal(row);
      });
    },

    getProposal: (id) => read(() => proposalById(id)),
    findProposalByIdempotencyKey: (agent, key) => read(() => proposalByKey(agent, key)),

    listProposals(filter: ProposalFilter) {
      return read(() => {
        const where: string[] = [];
        const args: unknown[] = [];
        if (filter.workflows !== undefined) {
          if (filter.workflows.length === 0) return [];
          where.push('workflow IN (SELECT value FROM json_each(?))');
          args.push(JSON.stringify(filter.workflows));
        }
        if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status); }
        if (filter.agent !== undefined) { where.push('agent = ?'); args.push(filter.agent); }
        if (filter.runId !== undefined) { where.push('run_id = ?'); args.push(filter.runId); }
        if (filter.beforeId !== undefined) {
          // An unknown beforeId compares with NULL and so matches nothing.
          where.push('(created_at, id) < (SELECT created_at, id FROM proposals WHERE id = ?)');
          args.push(filter.beforeId);
        }
        const sql = `SELECT * FROM proposals${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
        return proposals(sql, ...args, clampLimit(filter.limit, 100));
      });
    },

    countProposals(filter: ProposalCount) {
      return read(() => {
        const where = ['workflow = ?'];
        const args: unknown[] = [filter.workflow];
        if (filter.runId !== undefined) { where.push('run_id = ?'); args.push(filter.runId); }
        if (filter.createdSince !== undefined) { where.push('created_at >= ?'); args.push(filter.createdSince); }
        if (filter.excludeDenied === true) where.push("status <> 'denied'");
        return (prepare(`SELECT COUNT(*) AS n FROM proposals WHERE ${where.join(' AND ')}`).get(...args) as { n: number }).n;
      });
    },

    listExpiredPending: (now, limit) => read(() => proposals(
      "SELECT * FROM proposals WHERE status = 'pending_approval' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?", now, clampLimit(limit, 100),
    )),
    listExecuting: () => read(() => proposals("SELECT * FROM proposals WHERE status = 'executing' ORDER BY updated_at, id")),

    appendAudit: (events: readonly AuditEventDraft[]): Promise<SealedAuditEvent[]> => write(() => audit.append(events)),
    queryAudit: (filter: AuditFilter): Promise<StoredAuditEvent[]> => read(() => audit.query(filter)),
    async *readAuditTrail(batchSize = 500, range: TrailRead = {}): AsyncIterable<readonly StoredAuditRecord[]> {
      const after = range.afterSeq ?? (await read(() => audit.anchor())).seq;
      yield* pagesBySeq(after, batchSize, range, (from, size, through) => read(() => audit.trailPage(from, size, through, range.checkColumns === true)));
    },
    auditHead: (): Promise<ChainAnchor> => read(() => audit.head()),
    auditAnchor: (): Promise<ChainAnchor> => read(() => audit.anchor()),
    auditTree: (): Promise<AuditTreeState> => read(() => audit.tree()),
    auditTreeNode: (height: number, index: number) => read(() => audit.treeNode(height, index)),
    auditPurges: (): Promise<AuditPurge[]> => read(() => audit.purges()),
    readPurgedLeaves: (batchSize = 500, range: ChainRange = {}): AsyncIterable<readonly PurgedLeaf[]> =>
      pagesBySeq(range.afterSeq ?? 0, batchSize, range, (from, size, through) => read(() => audit.purgedLeavesPage(from, size, through))),
    findAuditColumnMismatch: (range: ChainRange = {}): Promise<AuditColumnMismatch | undefined> => read(() => audit.columnMismatch(range.afterSeq ?? 0, range.throughSeq ?? Number.MAX_SAFE_INTEGER)),
    async purgeAudit(before: number, at: number, actor: string) {
      assertPurgeOutsideRetention(before, at);
      return write(() => audit.purge(before, at, actor));
    },

    getRollout: (workflow: string) => read(() => {
      const row = prepare('SELECT * FROM workflow_rollout WHERE workflow = ?').get(workflow) as RolloutRow | undefined;
      return row === undefined ? undefined : rolloutFromRow(row);
    }),
    listRollouts: () => read(() => (prepare('SELECT * FROM workflow_rollout ORDER BY workflow').all() as RolloutRow[]).map(rolloutFromRow)),
    putRollout(record: RolloutRecord, expectedVersion: number, events: readonly AuditEventDraft[]) {
      return write(() => {
        const current = (prepare('SELECT version FROM workflow_rollout WHERE workflow = ?').get(record.workflow) as { version: number } | undefined)?.version ?? 0;
        if (current !== expectedVersion) return false;
        prepare(`INSERT INTO workflow_rollout (workflow, deployed_at, write_mode, by_override, promoted_at, demoted_at, version, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (workflow) DO UPDATE SET deployed_at = excluded.deployed_at, write_mode = excluded.write_mode, by_override = excluded.by_override,
            promoted_at = excluded.promoted_at, demoted_at = excluded.demoted_at, version = excluded.version, updated_at = excluded.updated_at`)
          .run(...rolloutRow(record, expectedVersion + 1));
        audit.append(events);
        return true;
      });
    },
    seedRollouts(records: readonly RolloutRecord[], at: number, events: readonly AuditEventDraft[]) {
      return write(() => {
        if (prepare('SELECT 1 FROM rollout_seeded WHERE id = 1').get() !== undefined) return false;
        const insert = prepare(`INSERT OR IGNORE INTO workflow_rollout (workflow, deployed_at, write_mode, by_override, promoted_at, demoted_at, version, updated_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
        for (const record of records) insert.run(...rolloutRow(record, 1));
        prepare('INSERT INTO rollout_seeded (id, at) VALUES (1, ?)').run(at);
        audit.append(events);
        return true;
      });
    },

    getDisabled: (kind: SubjectKind, id: string) => read(() => {
      const row = prepare('SELECT by, reason, at FROM disabled WHERE kind = ? AND id = ?').get(kind, id) as DisabledState | undefined;
      return row === undefined ? undefined : { by: row.by, reason: row.reason, at: row.at };
    }),
    setDisabled(kind: SubjectKind, id: string, state: DisabledState | undefined, events: readonly AuditEventDraft[]) {
      return write(() => {
        if (state === undefined) {
          prepare('DELETE FROM disabled WHERE kind = ? AND id = ?').run(kind, id);
        } else {
          prepare(`INSERT INTO disabled (kind, id, by, reason, at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, id) DO UPDATE SET by = excluded.by, reason = excluded.reason, at = excluded.at`)
            .run(kind, id, state.by, state.reason, state.at);
        }
        audit.append(events);
      });
    },

    putSecret: (secret, events) => write(() => secrets.putSecret(secret, events)),
    getSecret: (system, name) => read(() => secrets.getSecret(system, name)),
    listSecrets: () => read(() => secrets.listSecrets()),
    replaceAllSecrets: (expected, next, events) => write(() => secrets.replaceAllSecrets(expected, next, events)),
    // async: a value JSON cannot carry rejects instead of throwing.
    async insertRun(run, events) { return write(() => secrets.insertRun(run, events)); },
    getRun: (id) => read(() => secrets.getRun(id)),

    getToolPins: (system) => read(() => mcp.getToolPins(system)),
    setToolPins: (system, pins, events) => write(() => mcp.setToolPins(system, pins, events)),
    getCallGeneration: (agent, call) => read(() => mcp.getCallGeneration(agent, call)),
    advanceCallGeneration: (agent, call, from) => write(() => mcp.advanceCallGeneration(agent, call, from)),

    // async: a value that cannot be bound rejects instead of throwing.
    async insertDelivery(delivery) { return write(() => notifications.insertDelivery(delivery)); },
    getDelivery: (id) => read(() => notifications.getDelivery(id)),
    listDeliveries: (status, limit) => read(() => notifications.listDeliveries(status, clampLimit(limit, 100))),
    listDeliveryAttempts: (id) => read(() => notifications.listDeliveryAttempts(id)),
    recordDeliveryAttempt: (attempt, from, outcome, events) => write(() => notifications.recordDeliveryAttempt(attempt, from, outcome, events)),

    async checkWritable() {
      try {
        await write((conn) => {
          // A real durable write: it fails on a full disk, a read-only file, an I/O error or a lock.
          prepare('INSERT INTO health (id, beats) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET beats = beats + 1').run();
          // Rewriting a row in place needs no new page, so also check the file can still grow
          // (max_page_count is SQLite's size limit; SQLITE_FULL follows once it is reached).
          const pages = conn.pragma('page_count', { simple: true }) as number;
          const free = conn.pragma('freelist_count', { simple: true }) as number;
          const max = conn.pragma('max_page_count', { simple: true }) as number;
          if (max - pages + free < MIN_HEADROOM_PAGES) {
            throw storeWriteFailed(`the database is full: it has reached its size limit of ${max} pages (max_page_count)`);
          }
        });
        return { ok: true } as const;
      } catch (error) {
        return { ok: false, error: error instanceof Error ? error.message : String(error) } as const;
      }
    },

    close() {
      // One closing for every caller: a second close resolves when the connection is closed too.
      closing ??= (async () => {
        closed = true;
        await queue.drain();
        // The worker's connection first: the gateway's is then the last, and its close
        // checkpoints the whole WAL and removes it, as before.
        await walCheckpoints?.close();
        db.close();
      })();
      return closing;
    },
  };
}

function open(options: SqliteStoreOptions): Database.Database {
  const memory = options.path === ':memory:';
  try {
    if (!memory) mkdirSync(dirname(options.path), { recursive: true });
    const db = new Database(options.path);
    try {
      if (!memory) db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
      db.pragma('foreign_keys = ON');
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  } catch (error) {
    throw storeWriteFailed(`cannot open ${options.path}: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}

interface RolloutRow {
  workflow: string;
  deployed_at: number | null;
  write_mode: 'approval' | 'auto';
  by_override: number;
  promoted_at: number | null;
  demoted_at: number | null;
  version: number;
  updated_at: number;
}

function rolloutFromRow(row: RolloutRow): RolloutRecord {
  return {
    workflow: row.workflow, writeMode: row.write_mode, byOverride: row.by_override === 1, version: row.version, updatedAt: row.updated_at,
    ...(row.deployed_at === null ? {} : { deployedAt: row.deployed_at }),
    ...(row.promoted_at === null ? {} : { promotedAt: row.promoted_at }),
    ...(row.demoted_at === null ? {} : { demotedAt: row.demoted_at }),
  };
}

function rolloutRow(r: RolloutRecord, version: number): [string, number | null, string, number, number | null, number | null, number, number] {
  return [r.workflow, r.deployedAt ?? null, r.writeMode, r.byOverride ? 1 : 0, r.promotedAt ?? null, r.demotedAt ?? null, version, r.updatedAt];
}
