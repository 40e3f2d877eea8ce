/**
 * The notification channels' deliveries and attempts in SQLite. Writes must be called inside a
 * write of the write queue (so an attempt and its delivery's new state are one transaction),
 * reads anywhere.
 */
import type { AuditEventDraft } from '@portcullis/core';
import type { DeliveryAttempt, DeliveryOutcome, DeliveryStatus, NotificationDelivery } from '../store.js';
import type { Prepare, SqliteAuditLog } from './sqlite-audit.js';

interface DeliveryRow {
  id: string;
  channel: string;
  alert_seq: number;
  alert_kind: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  at: number;
  ok: number;
  code: number | null;
  error: string | null;
}

/** Delivery statements over one connection. */
export interface SqliteNotificationTables {
  insertDelivery(delivery: NotificationDelivery): boolean;
  getDelivery(id: string): NotificationDelivery | undefined;
  listDeliveries(status: DeliveryStatus, limit: number): NotificationDelivery[];
  listDeliveryAttempts(id: string): DeliveryAttempt[];
  recordDeliveryAttempt(attempt: DeliveryAttempt, from: DeliveryStatus, outcome: DeliveryOutcome, events: readonly AuditEventDraft[]): NotificationDelivery | undefined;
}

const toDelivery = (row: DeliveryRow): NotificationDelivery => ({
  id: row.id, channel: row.channel, alertSeq: row.alert_seq, alertKind: row.alert_kind, body: row.body, status: row.status, attempts: row.attempts,
  ...(row.next_attempt_at === null ? {} : { nextAttemptAt: row.next_attempt_at }),
  ...(row.last_error === null ? {} : { lastError: row.last_error }),
  createdAt: row.created_at, updatedAt: row.updated_at,
});

const toAttempt = (row: AttemptRow): DeliveryAttempt => ({
  deliveryId: row.delivery_id, attempt: row.attempt, at: row.at, ok: row.ok === 1,
  ...(row.code === null ? {} : { code: row.code }), ...(row.error === null ? {} : { error: row.error }),
});

/** Creates the statements. */
export function createSqliteNotificationTables(prepare: Prepare, audit: SqliteAuditLog): SqliteNotificationTables {
  const get = (id: string): NotificationDelivery | undefined => {
    const row = prepare('SELECT * FROM notification_deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row === undefined ? undefined : toDelivery(row);
  };
  return {
    insertDelivery(d) {
      const inserted = prepare(`INSERT INTO notification_deliveries (id, channel, alert_seq, alert_kind, body, status, attempts, next_attempt_at, last_error, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
        .run(d.id, d.channel, d.alertSeq, d.alertKind, d.body, d.status, d.attempts, d.nextAttemptAt ?? null, d.lastError ?? null, d.createdAt, d.updatedAt);
      return inserted.changes === 1;
    },
    getDelivery: get,
    listDeliveries(status, limit) {
      return (prepare('SELECT * FROM notification_deliveries WHERE status = ? ORDER BY created_at, id LIMIT ?').all(status, limit) as DeliveryRow[]).map(toDelivery);
    },
    listDeliveryAttempts(id) {
      return (prepare('SELECT * FROM notification_attempts WHERE delivery_id = ? ORDER BY attempt').all(id) as AttemptRow[]).map(toAttempt);
    },
    recordDeliveryAttempt(attempt, from, outcome, events) {
      // Compare-and-set on (status, attempts): the attempt is recorded by whoever made it first.
      const row = prepare(`UPDATE notification_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = COALESCE(?, last_error), updated_at = ?
        WHERE id = ? AND status = ? AND attempts = ? RETURNING *`)
        .get(outcome.status, attempt.attempt, outcome.nextAttemptAt ?? null, attempt.ok ? null : attempt.error ?? 'failed', outcome.updatedAt, attempt.deliveryId, from, attempt.attempt - 1) as DeliveryRow | undefined;
      if (row === undefined) return undefined;
      prepare('INSERT INTO notification_attempts (delivery_id, attempt, at, ok, code, error) VALUES (?, ?, ?, ?, ?, ?)')
        .run(attempt.deliveryId, attempt.attempt, attempt.at, attempt.ok ? 1 : 0, attempt.code ?? null, attempt.error ?? null);
      audit.append(events);
      return toDelivery(row);
    },
  };
}
