/**
 * The SQLite schema, as versioned migrations. Invariants: a migration, once released, never
 * changes (a change is a new migration); `migrateSqlite` applies each missing one in order,
 * in the caller's transaction, and records it in `schema_migrations`, so running it again
 * does nothing; a database from a newer Portcullis is refused rather than guessed at.
 *
 * The audit trail is append-only in the database itself, not only in code: triggers abort
 * any UPDATE of `audit_events` and `audit_purges` (once `audit_checkpoints`), and any DELETE of them, except a
 * DELETE of events covered by a row of `audit_purge_permit`. Only `purgeAudit` writes that
 * row, and it deletes it again inside the same transaction, so a permit is never committed
 * and never visible to another connection. (A trigger in the main schema cannot see TEMP
 * tables, hence an ordinary table.) The triggers stop mistakes and naive SQL; someone with
 * the file can drop them, which the Merkle tree, its published signed checkpoints and the
 * separately kept head then reveal.
 */
import type Database from 'better-sqlite3';
import { GENESIS_HASH, PortcullisError } from '@portcullis/core';

/** One schema change. */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const APPEND_ONLY = "SELECT RAISE(ABORT, 'audit events are append-only: only a retention purge may delete them, and nothing may update them')";

/** Every migration, in order. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        action TEXT NOT NULL,
        agent TEXT NOT NULL,
        params TEXT NOT NULL,
        reason TEXT,
        run_id TEXT,
        idempotency_key TEXT,
        digest TEXT NOT NULL,
        status TEXT NOT NULL,
        decision TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER,
        approval TEXT,
        result TEXT,
        undo TEXT,
        error TEXT,
        UNIQUE (agent, idempotency_key)
      ) STRICT;
      CREATE INDEX proposals_status_expires ON proposals (status, expires_at);
      CREATE INDEX proposals_workflow_created ON proposals (workflow, created_at);
      CREATE INDEX proposals_created ON proposals (created_at, id);
      CREATE INDEX proposals_run ON proposals (run_id);

      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        workflow TEXT,
        proposal_id TEXT,
        actor_id TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_events_workflow ON audit_events (workflow, seq);
      CREATE INDEX audit_events_at ON audit_events (at);
      CREATE INDEX audit_events_proposal ON audit_events (proposal_id);

      CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${GENESIS_HASH}');

      CREATE TABLE audit_checkpoints (
        through_seq INTEGER PRIMARY KEY,
        anchor_hash TEXT NOT NULL,
        purged_at INTEGER NOT NULL,
        actor TEXT NOT NULL
      ) STRICT;

      CREATE TABLE audit_purge_permit (through_seq INTEGER NOT NULL) STRICT;

      CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
      BEGIN ${APPEND_ONLY}; END;
      CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
      WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit WHERE OLD.seq <= through_seq)
      BEGIN ${APPEND_ONLY}; END;
      CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
      BEGIN ${APPEND_ONLY}; END;
      CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
      BEGIN ${APPEND_ONLY}; END;
      CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
      WHEN NEW.seq < OLD.seq
      BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END;
      CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
      BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END;

      CREATE TABLE disabled (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        by TEXT NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
      ) STRICT;

      CREATE TABLE health (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        beats INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'vault secrets',
    // Sealed system credentials (vault/): only AES-256-GCM ciphertext, never plain text.
    sql: `
      CREATE TABLE vault_secrets (
        system TEXT NOT NULL,
        name TEXT NOT NULL,
        key_id TEXT NOT NULL,
        sealed TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (system, name)
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: 'workflow runs',
    // Runs started by POST /v1/runs after their systems passed the pre-flight checks.
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        started_by TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        checks TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'audit events by workflow and time',
    // A page of a workflow's events in a time window (GET /v1/audit?workflow=&from=&to=) reads
    // only this index to find the window's sequence numbers (seq is the rowid, so it is in
    // every index entry), then fetches the page's rows: without it, the (workflow, seq) index
    // made SQLite read every event of the workflow to test its time (150–360 ms at 10M events).
    sql: `
      CREATE INDEX audit_events_workflow_at ON audit_events (workflow, at);
    `,
  },
  {
    version: 5,
    name: 'mcp tool pins and call generations',
    // Digests of upstream MCP tools an admin accepted, and how often an agent's identical MCP
    // call has had its outcome delivered (the MCP gateway's idempotency keys).
    sql: `
      CREATE TABLE mcp_tool_pins (
        system TEXT NOT NULL,
        tool TEXT NOT NULL,
        digest TEXT NOT NULL,
        pinned_at INTEGER NOT NULL,
        pinned_by TEXT NOT NULL,
        PRIMARY KEY (system, tool)
      ) STRICT;
      CREATE TABLE mcp_call_generations (
        agent TEXT NOT NULL,
        call TEXT NOT NULL,
        generation INTEGER NOT NULL,
        PRIMARY KEY (agent, call)
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'audit merkle tree',
    // The trail's RFC 6962 Merkle tree, kept as its frontier (the roots of its perfect
    // subtrees, 32 bytes each, largest first): leaf i is the event base_seq + 1 + i. A trail
    // purged before this migration starts its tree after its last purge. The tree over the
    // existing events is built by the store right after this migration (sqlite-audit.ts).
    // "Checkpoint" now means only a signed tree head, so the purge anchors' table is renamed;
    // each purge keeps the tree's frontier at its size, to rebuild roots without the bodies.
    sql: `
      ALTER TABLE audit_checkpoints RENAME TO audit_purges;
      ALTER TABLE audit_purges ADD COLUMN tree_frontier BLOB;
      CREATE TABLE audit_tree (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        base_seq INTEGER NOT NULL,
        size INTEGER NOT NULL,
        frontier BLOB NOT NULL
      ) STRICT;
      INSERT INTO audit_tree (id, base_seq, size, frontier)
        VALUES (1, COALESCE((SELECT MAX(through_seq) FROM audit_purges), 0), 0, X'');
      CREATE TRIGGER audit_tree_grows_only BEFORE UPDATE ON audit_tree
      WHEN NEW.size < OLD.size OR NEW.base_seq <> OLD.base_seq
      BEGIN SELECT RAISE(ABORT, 'the audit tree only grows'); END;
      CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
      BEGIN SELECT RAISE(ABORT, 'the audit tree cannot be deleted'); END;
    `,
  },
  {
    version: 7,
    name: 'workflow rollout',
    // Each workflow's rollout (earned automation): when it was deployed, the write class's mode
    // in force, promotions and demotions; `version` makes every change a compare-and-set.
    // rollout_seeded records that the workflows configured when this version first started were
    // deployed then (they start in pilot); workflows configured later start as drafts.
    sql: `
      CREATE TABLE workflow_rollout (
        workflow TEXT PRIMARY KEY,
        deployed_at INTEGER,
        write_mode TEXT NOT NULL CHECK (write_mode IN ('approval', 'auto')),
        by_override INTEGER NOT NULL DEFAULT 0,
        promoted_at INTEGER,
        demoted_at INTEGER,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE rollout_seeded (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 8,
    name: 'notification deliveries',
    // Alerts told through the notification channels (channels/): one row per (alert, channel)
    // with its retry state, and one row per attempt. A delivery whose attempts ran out is
    // 'dead' (the dead-letter list an admin lists and replays).
    sql: `
      CREATE TABLE notification_deliveries (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        alert_seq INTEGER NOT NULL,
        alert_kind TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX notification_deliveries_status ON notification_deliveries (status, created_at);
      CREATE TABLE notification_attempts (
        delivery_id TEXT NOT NULL REFERENCES notification_deliveries (id),
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        code INTEGER,
        error TEXT,
        PRIMARY KEY (delivery_id, attempt)
      ) STRICT;
    `,
  },
  {
    version: 9,
    name: 'audit tree replaces the hash chain',
    // From here on an event is sealed with one hash, its body's RFC 6962 leaf hash, kept in
    // \`hash\` (hex) with an empty \`prev_hash\`; the tree, not a chain, links events. Events up
    // to \`chain_through\` (the head at this upgrade) keep their chain links, verified once by the
    // store right after migrating (sqlite-audit.ts \`catchUpTree\`) and still by \`audit verify\`;
    // no stored row is rewritten. \`audit_tree_nodes\` keeps the tree's interior nodes of height
    // 8 and more (one row per 128 events), so an inclusion proof reads O(log n) nodes and at
    // most two blocks of 256 leaves instead of the whole trail; the store fills it for the
    // existing trail right after migrating.
    sql: `
      ALTER TABLE audit_tree ADD COLUMN chain_through INTEGER NOT NULL DEFAULT 0;
      UPDATE audit_tree SET chain_through = (SELECT seq FROM audit_head WHERE id = 1) WHERE id = 1;
      CREATE TRIGGER audit_tree_chain_fixed BEFORE UPDATE ON audit_tree
      WHEN NEW.chain_through <> OLD.chain_through
      BEGIN SELECT RAISE(ABORT, 'the end of the legacy audit chain never moves'); END;
      CREATE TABLE audit_tree_nodes (
        height INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (height, idx)
      ) STRICT, WITHOUT ROWID;
      CREATE TRIGGER audit_tree_nodes_no_update BEFORE UPDATE ON audit_tree_nodes
      BEGIN ${APPEND_ONLY}; END;
      CREATE TRIGGER audit_tree_nodes_no_delete BEFORE DELETE ON audit_tree_nodes
      BEGIN ${APPEND_ONLY}; END;
    `,
  },
  {
    version: 10,
    name: 'a retention purge keeps the leaf hashes of the events it deletes',
    // A purge deletes event bodies but keeps each deleted event's RFC 6962 leaf hash (32 bytes),
    // so the tree at every checkpoint published before the purge can still be rebuilt and proven
    // consistent with today's tree. Purges made before this version kept only their frontier.
    sql: `
      CREATE TABLE audit_purged_leaves (
        seq INTEGER PRIMARY KEY,
        leaf_hash BLOB NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_purged_leaves_no_update BEFORE UPDATE ON audit_purged_leaves
      BEGIN ${APPEND_ONLY}; END;
      CREATE TRIGGER audit_purged_leaves_no_delete BEFORE DELETE ON audit_purged_leaves
      BEGIN ${APPEND_ONLY}; END;
    `,
  },
];

/**
 * Applies the missing migrations. Run it inside a write transaction (the store runs it
 * through its write queue), so a failing migration leaves the schema as it was.
 * @throws PortcullisError STORE_UNAVAILABLE if the database is from a newer Portcullis.
 */
export function migrateSqlite(db: Database.Database, now: number): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  const current = row.version ?? 0;
  const latest = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new PortcullisError(
      'STORE_UNAVAILABLE',
      `the database schema is version ${current}, newer than this Portcullis knows (${latest}); upgrade Portcullis or restore a backup from this version; nothing was executed`,
      { current, latest },
    );
  }
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of SQLITE_MIGRATIONS) {
    if (migration.version <= current) continue;
    db.exec(migration.sql);
    record.run(migration.version, migration.name, now);
    applied.push(migration.version);
  }
  return applied;
}
