/**
 * Test-only: a SQLite store file as an earlier Portcullis left it, with its audit trail sealed
 * into the legacy hash chain (core audit-chain.ts), to test the upgrade to the Merkle tree.
 * `schema` 5 is before the tree (migrations 1–5); 6 is the tree over chained events, as
 * migration 6 and its catch-up built it, before the tree replaced the chain (migration 9).
 */
import Database from 'better-sqlite3';
import {
  GENESIS_HASH, createMerkleFrontier, merkleLeafHash, sealChainedAuditEvent,
  type AuditEventDraft, type ChainedAuditEvent,
} from '@portcullis/core';
import { SQLITE_MIGRATIONS } from '../store/sqlite/sqlite-migrations.js';
import { frontierToBlob } from '../store/sqlite/sqlite-audit.js';

/** Writes a store file at `path` at schema `schema` whose trail is `drafts` sealed into the legacy chain; returns the chained events. */
export function writeLegacyTrail(path: string, drafts: readonly AuditEventDraft[], schema: 5 | 6 = 5): ChainedAuditEvent[] {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
    for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= schema)) {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(migration.version, migration.name);
    }
    const insert = db.prepare('INSERT INTO audit_events (seq, at, type, workflow, proposal_id, actor_id, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const events: ChainedAuditEvent[] = [];
    let prev = GENESIS_HASH;
    db.transaction(() => {
      drafts.forEach((draft, i) => {
        const event = sealChainedAuditEvent(draft, i + 1, prev);
        insert.run(event.seq, draft.at, draft.type, draft.workflow ?? null, draft.proposalId ?? null, draft.actor.id, event.body, event.prevHash, event.hash);
        events.push(event);
        prev = event.hash;
      });
      db.prepare('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1').run(events.length, prev);
      if (schema === 6) {
        const frontier = createMerkleFrontier();
        for (const event of events) frontier.append(merkleLeafHash(event.body));
        db.prepare('UPDATE audit_tree SET size = ?, frontier = ? WHERE id = 1').run(frontier.size, frontierToBlob(frontier.state()));
      }
    })();
    return events;
  } finally {
    db.close();
  }
}
