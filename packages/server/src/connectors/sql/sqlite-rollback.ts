/**
 * Rolling back one SQL execution from its undo data (SqlUndo). Invariants: a row is put back
 * only while it still holds what the action left (an update's written values, a created row's
 * values, a deleted row's key still free); a row changed since is left alone and named as
 * drifted; all of one execution's rows are put back in one transaction, so a failure changes
 * nothing. The rows are exactly those the undo data names: the workflow's data scope, which
 * may have moved on since, does not apply to undoing what the gateway itself did.
 */
import type Database from 'better-sqlite3';
import { PortcullisError, type JsonValue } from '@portcullis/core';
import type { DriftedRecord, RollbackOutcome } from '../connector.js';

type Row = Record<string, JsonValue>;
type Scalar = string | number | boolean | null;

/** Undo data of a SQL execution, kept with the proposal for rollback. */
export type SqlUndo =
  | { kind: 'sql.update'; table: string; primaryKey: string; before: Row[] }
  | { kind: 'sql.create'; table: string; primaryKey: string; id: string | number }
  | { kind: 'sql.delete'; table: string; primaryKey: string; before: Row[] };

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const toSql = (value: JsonValue | undefined): string | number | null => {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' || typeof value === 'number') return value;
  return JSON.stringify(value);
};
/** Whether a stored value is the value written (SQLite may store '5' as 5 in a numeric column). */
const same = (stored: JsonValue | undefined, written: JsonValue | undefined): boolean => {
  const a = toSql(stored);
  const b = toSql(written);
  return a === b || (a !== null && b !== null && String(a) === String(b));
};
const show = (value: JsonValue | undefined): string => JSON.stringify(value ?? null);

const isUndo = (value: JsonValue): value is SqlUndo & JsonValue =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && typeof value.kind === 'string' && value.kind.startsWith('sql.')
  && typeof value.table === 'string' && typeof value.primaryKey === 'string';

/**
 * Puts back what one SQL execution changed, on an open connection, in one immediate transaction.
 * @throws PortcullisError NOT_REVERSIBLE when `undo` is not SQL undo data; a SQLite error when the
 *   database fails (the transaction is rolled back: nothing changed).
 */
export function rollbackSqlite(conn: Database.Database, undo: JsonValue, params: unknown): RollbackOutcome {
  if (!isUndo(undo)) throw new PortcullisError('NOT_REVERSIBLE', 'the execution recorded no SQL undo data, so it cannot be rolled back; nothing was changed');
  const table = quote(undo.table);
  const pk = undo.primaryKey;
  const name = (id: JsonValue | undefined): string => `${undo.table} ${String(id)}`;
  return conn.transaction((): RollbackOutcome => {
    const undone: string[] = [];
    const drifted: DriftedRecord[] = [];
    switch (undo.kind) {
      case 'sql.update': {
        const set = (params as { set: Record<string, Scalar> }).set;
        const columns = Object.keys(set);
        for (const before of undo.before) {
          const id = before[pk];
          const now = conn.prepare(`SELECT ${[pk, ...columns].map(quote).join(', ')} FROM ${table} WHERE ${quote(pk)} = ?`).get(toSql(id)) as Row | undefined;
          if (now === undefined) { drifted.push({ record: name(id), why: 'the row no longer exists' }); continue; }
          const changed = columns.filter((c) => !same(now[c], set[c]));
          if (changed.length > 0) {
            drifted.push({ record: name(id), why: `changed since: ${changed.map((c) => `${c} is ${show(now[c])}, not the ${show(set[c])} the action wrote`).join('; ')}` });
            continue;
          }
          conn.prepare(`UPDATE ${table} SET ${columns.map((c) => `${quote(c)} = ?`).join(', ')} WHERE ${quote(pk)} = ?`).run(...columns.map((c) => toSql(before[c])), toSql(id));
          undone.push(name(id));
        }
        break;
      }
      case 'sql.create': {
        const values = (params as { values: Record<string, Scalar> }).values;
        const columns = Object.keys(values);
        const now = conn.prepare(`SELECT * FROM ${table} WHERE ${quote(pk)} = ?`).get(toSql(undo.id)) as Row | undefined;
        if (now === undefined) drifted.push({ record: name(undo.id), why: 'the row no longer exists' });
        else {
          const changed = columns.filter((c) => !same(now[c], values[c]));
          if (changed.length > 0) {
            drifted.push({ record: name(undo.id), why: `changed since it was created: ${changed.map((c) => `${c} is ${show(now[c])}, not ${show(values[c])}`).join('; ')}` });
          } else {
            conn.prepare(`DELETE FROM ${table} WHERE ${quote(pk)} = ?`).run(toSql(undo.id));
            undone.push(name(undo.id));
          }
        }
        break;
      }
      case 'sql.delete': {
        for (const before of undo.before) {
          const id = before[pk];
          const taken = conn.prepare(`SELECT 1 FROM ${table} WHERE ${quote(pk)} = ?`).get(toSql(id)) !== undefined;
          if (taken) { drifted.push({ record: name(id), why: 'its key is taken again by another row' }); continue; }
          const columns = Object.keys(before);
          conn.prepare(`INSERT INTO ${table} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...columns.map((c) => toSql(before[c])));
          undone.push(name(id));
        }
        break;
      }
    }
    return { undone, drifted };
  }).immediate();
}
