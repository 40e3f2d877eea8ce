/**
 * The SQL connector for SQLite databases. Invariants: every statement is confined to the
 * rows inside the workflow's data scope; a write that names a record outside the scope, or
 * more records than the bound allows, changes nothing; every update and delete records the
 * before-image of the rows it changed, in the same transaction as the change, so the
 * execution can be rolled back; a database locked by another process never blocks the
 * gateway's event loop: SQLite is asked not to wait (busy_timeout 0), and a statement that
 * finds the database busy is tried again asynchronously until LOCK_WAIT_MS has passed, so
 * other requests (other systems, /healthz) are answered meanwhile.
 */
import Database from 'better-sqlite3';
import { PortcullisError, type JsonValue } from '@portcullis/core';
import type { Connector, ExecutionContext, ExecutionResult } from '../connector.js';
import type { ActionSpec, ScopeBound } from '../../config/action-spec.js';
import type { SqlSystemConfig, SqlTableConfig } from './sql-settings.js';
import { rollbackSqlite, type SqlUndo } from './sqlite-rollback.js';

type Row = Record<string, JsonValue>;
type Scalar = string | number | boolean | null;
type RecordId = string | number;

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const toSql = (value: Scalar): string | number | null => (typeof value === 'boolean' ? (value ? 1 : 0) : value);

export type { SqlUndo };

interface Where {
  clause: string;
  args: (string | number | null)[];
}

/**
 * The data scope as SQL: the field lies within `within` of now, on either side (a record dated
 * in the future is not "within the last 24h"; a write that moves it there would keep it in
 * scope for ever).
 */
function scopeWhere(scope: ScopeBound | undefined, now: number): Where {
  if (scope === undefined) return { clause: '1=1', args: [] };
  return {
    clause: `julianday(${quote(scope.field)}) BETWEEN julianday(?) AND julianday(?)`,
    args: [new Date(now - scope.withinMs).toISOString(), new Date(now + scope.withinMs).toISOString()],
  };
}

function describeScope(scope: ScopeBound): string {
  const hours = scope.withinMs / 3_600_000;
  const span = Number.isInteger(hours) ? `${hours}h` : `${Math.round(scope.withinMs / 60_000)}m`;
  return `${scope.field} within the last ${span}`;
}

const MAX_CACHED_STATEMENTS = 256;
/** How long a statement waits, in total, for a database another process has locked. */
export const LOCK_WAIT_MS = 5_000;

/** Whether a SQLite error says another connection holds the lock (nothing was done). */
const isBusy = (error: unknown): boolean =>
  error instanceof Database.SqliteError && (error.code.startsWith('SQLITE_BUSY') || error.code.startsWith('SQLITE_LOCKED'));

/**
 * Runs `work` (synchronous, on better-sqlite3), trying again asynchronously while the database
 * is busy: the event loop is free between attempts. After LOCK_WAIT_MS the busy error is thrown.
 */
async function whenUnlocked<T>(work: () => T): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Opens a SQLite system. The database file must exist; the gateway never creates a production database. */
export function createSqliteConnector(system: SqlSystemConfig): Connector {
  let db: Database.Database | undefined;
  const open = (): Database.Database => {
    if (db === undefined) {
      try {
        // Never wait on the main thread for another process's lock (better-sqlite3 waits 5 s by default): see whenUnlocked.
        db = new Database(system.path, { fileMustExist: true, timeout: 0 });
        try {
          db.pragma('journal_mode = WAL');
        } catch (error) {
          if (!isBusy(error)) throw error; // locked right now: the journal mode is left as it is
        }
      } catch (error) {
        throw new PortcullisError('UPSTREAM_FAILED', `system "${system.name}": cannot open SQLite database ${system.path}: ${(error as Error).message}`, { system: system.name }, { cause: error });
      }
    }
    return db;
  };
  // Prepared statements by SQL text: preparing costs as much as running a one-row update. The
  // text varies only with a table's columns and the number of ids, so the cache stays small;
  // it is emptied, never grown, past its bound.
  const statements = new Map<string, Database.Statement>();
  const prepared = (conn: Database.Database, sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= MAX_CACHED_STATEMENTS) statements.clear();
      statement = conn.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const tableOf = (spec: ActionSpec): SqlTableConfig => {
    const table = system.tables.get(spec.resource);
    if (table === undefined) throw new PortcullisError('INTERNAL', `system "${system.name}" has no table "${spec.resource}"`);
    return table;
  };

  function selectByIds(conn: Database.Database, table: SqlTableConfig, ids: readonly RecordId[], context: ExecutionContext, columns = '*'): Row[] {
    const scope = scopeWhere(context.scope, context.now);
    const sql = `SELECT ${columns} FROM ${quote(table.name)} WHERE ${quote(table.primaryKey)} IN (${ids.map(() => '?').join(',')}) AND ${scope.clause}`;
    return prepared(conn, sql).all(...ids, ...scope.args) as Row[];
  }

  function missing(table: SqlTableConfig, ids: readonly RecordId[], rows: readonly Row[], context: ExecutionContext): string[] {
    const found = new Set(rows.map((r) => String(r[table.primaryKey])));
    const absent = [...new Set(ids.map(String))].filter((id) => !found.has(id));
    if (absent.length === 0) return [];
    const one = absent.length === 1;
    const where = context.scope === undefined ? '' : ` or ${one ? 'is' : 'are'} outside the workflow's data scope (${describeScope(context.scope)})`;
    return [`${table.name} record${one ? '' : 's'} ${absent.join(', ')} ${one ? 'does' : 'do'} not exist${where}`];
  }

  /** Why a value a create or update writes into the scope's field puts the record outside the data scope, if it does. */
  function writtenOutsideScope(conn: Database.Database, table: SqlTableConfig, written: Record<string, Scalar>, context: ExecutionContext): string[] {
    const { scope } = context;
    if (scope === undefined || !Object.hasOwn(written, scope.field)) return [];
    const where = scopeWhere(scope, context.now);
    const value = written[scope.field] ?? null;
    const inside = prepared(conn, `SELECT 1 FROM (SELECT ? AS ${quote(scope.field)}) WHERE ${where.clause}`).get(toSql(value), ...where.args);
    return inside === undefined ? [`the ${table.name}.${scope.field} written (${JSON.stringify(value)}) is outside the workflow's data scope (${describeScope(scope)})`] : [];
  }

  function execute(spec: ActionSpec, params: unknown, context: ExecutionContext): ExecutionResult {
    const conn = open();
    const table = tableOf(spec);
    const pk = table.primaryKey;
    switch (spec.verb) {
      case 'read': {
        const p = params as { ids?: RecordId[]; where?: Record<string, Scalar>; columns?: string[]; limit?: number };
        const scope = scopeWhere(context.scope, context.now);
        const clauses = [scope.clause];
        const args: (string | number | null)[] = [...scope.args];
        if (p.ids !== undefined) {
          clauses.push(`${quote(pk)} IN (${p.ids.map(() => '?').join(',')})`);
          args.push(...p.ids);
        }
        for (const [column, value] of Object.entries(p.where ?? {})) {
          if (value === null) clauses.push(`${quote(column)} IS NULL`);
          else {
            clauses.push(`${quote(column)} = ?`);
            args.push(toSql(value));
          }
        }
        const columns = p.columns === undefined ? '*' : p.columns.map(quote).join(', ');
        const rows = prepared(conn, `SELECT ${columns} FROM ${quote(table.name)} WHERE ${clauses.join(' AND ')} ORDER BY ${quote(pk)} LIMIT ?`).all(...args, p.limit ?? 100) as Row[];
        return { result: { rows, count: rows.length } };
      }
      case 'update': {
        const p = params as { ids: RecordId[]; set: Record<string, Scalar> };
        const columns = Object.keys(p.set);
        return conn.transaction((): ExecutionResult => {
          const before = selectByIds(conn, table, p.ids, context, [pk, ...columns].map(quote).join(', '));
          refuseIf(missing(table, p.ids, before, context));
          refuseIf(before.length > context.maxRecords ? [`${before.length} records would change; the workflow allows at most ${context.maxRecords} per action`] : []);
          const scope = scopeWhere(context.scope, context.now);
          const sql = `UPDATE ${quote(table.name)} SET ${columns.map((c) => `${quote(c)} = ?`).join(', ')} WHERE ${quote(pk)} IN (${p.ids.map(() => '?').join(',')}) AND ${scope.clause}`;
          refuseIf(writtenOutsideScope(conn, table, p.set, context));
          const info = prepared(conn, sql).run(...columns.map((c) => toSql(p.set[c] ?? null)), ...p.ids, ...scope.args);
          const undo: SqlUndo = { kind: 'sql.update', table: table.name, primaryKey: pk, before };
          return { result: { updated: info.changes, ids: before.map((r) => r[pk] ?? null) }, undo };
        }).immediate();
      }
      case 'create': {
        const p = params as { values: Record<string, Scalar> };
        const columns = Object.keys(p.values);
        return conn.transaction((): ExecutionResult => {
          const info = prepared(conn, `INSERT INTO ${quote(table.name)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
            .run(...columns.map((c) => toSql(p.values[c] ?? null)));
          const id = (p.values[pk] as RecordId | undefined) ?? Number(info.lastInsertRowid);
          refuseIf(missing(table, [id], selectByIds(conn, table, [id], context, quote(pk)), context).map(() => `the new ${table.name} record would be outside the workflow's data scope`));
          const undo: SqlUndo = { kind: 'sql.create', table: table.name, primaryKey: pk, id };
          return { result: { created: id }, undo };
        }).immediate();
      }
      case 'delete': {
        const p = params as { ids: RecordId[] };
        return conn.transaction((): ExecutionResult => {
          const before = selectByIds(conn, table, p.ids, context);
          refuseIf(missing(table, p.ids, before, context));
          refuseIf(before.length > context.maxRecords ? [`${before.length} records would be deleted; the workflow allows at most ${context.maxRecords} per action`] : []);
          const scope = scopeWhere(context.scope, context.now);
          const info = prepared(conn, `DELETE FROM ${quote(table.name)} WHERE ${quote(pk)} IN (${p.ids.map(() => '?').join(',')}) AND ${scope.clause}`).run(...p.ids, ...scope.args);
          const undo: SqlUndo = { kind: 'sql.delete', table: table.name, primaryKey: pk, before };
          return { result: { deleted: info.changes, ids: before.map((r) => r[pk] ?? null) }, undo };
        }).immediate();
      }
      default:
        throw new PortcullisError('INTERNAL', `SQL systems have no "${spec.verb}" actions`);
    }
  }

  async function precheck(spec: ActionSpec, params: unknown, context: ExecutionContext): Promise<string[]> {
    if (spec.verb !== 'create' && spec.verb !== 'update' && spec.verb !== 'delete') return [];
    const conn = open();
    const table = tableOf(spec);
    if (spec.verb !== 'delete') {
      const written = spec.verb === 'create' ? (params as { values: Record<string, Scalar> }).values : (params as { set: Record<string, Scalar> }).set;
      const outside = await whenUnlocked(() => writtenOutsideScope(conn, table, written, context));
      if (outside.length > 0 || spec.verb === 'create') return outside;
    }
    const { ids } = params as { ids: RecordId[] };
    return whenUnlocked(() => missing(table, ids, selectByIds(conn, table, ids, context, quote(table.primaryKey)), context));
  }

  return {
    system: system.name,
    async execute(spec, params, context) {
      try {
        return await whenUnlocked(() => execute(spec, params, context));
      } catch (error) {
        if (error instanceof PortcullisError) throw error;
        const locked = isBusy(error) ? ` (another process held the database locked for ${LOCK_WAIT_MS / 1000}s; nothing was changed)` : '';
        throw new PortcullisError('UPSTREAM_FAILED', `system "${system.name}" failed: ${(error as Error).message}${locked}`, { system: system.name }, { cause: error });
      }
    },
    async rollback(_spec, params, undo) {
      try {
        const conn = open();
        return await whenUnlocked(() => rollbackSqlite(conn, undo, params));
      } catch (error) {
        if (error instanceof PortcullisError) throw error;
        const locked = isBusy(error) ? ` (another process held the database locked for ${LOCK_WAIT_MS / 1000}s)` : '';
        throw new PortcullisError('UPSTREAM_FAILED', `system "${system.name}" failed while rolling back: ${(error as Error).message}${locked}; nothing was changed`, { system: system.name }, { cause: error });
      }
    },
    async precheck(spec, params, context) {
      try {
        return await precheck(spec, params, context);
      } catch (error) {
        if (error instanceof PortcullisError) throw error;
        throw new PortcullisError('UPSTREAM_FAILED', `system "${system.name}" failed while checking the records: ${(error as Error).message}; nothing was changed (\`portcullis check\` compares the configured tables and columns with the database)`, { system: system.name }, { cause: error });
      }
    },
    async preview(spec, params, context) {
      const table = tableOf(spec);
      const name = (id: unknown): string => `${table.name} ${String(id)}`;
      if (spec.verb === 'create') {
        const { values } = params as { values: Record<string, Scalar> };
        return [{ record: name(values[table.primaryKey] ?? '(new)'), fields: Object.entries(values).map(([field, value]) => ({ field, new: value })) }];
      }
      if (spec.verb !== 'update' && spec.verb !== 'delete') return undefined;
      const conn = open();
      const { ids } = params as { ids: RecordId[] };
      const set = spec.verb === 'update' ? (params as { set: Record<string, Scalar> }).set : undefined;
      const columns = set === undefined ? '*' : [table.primaryKey, ...Object.keys(set)].map(quote).join(', ');
      const rows = await whenUnlocked(() => selectByIds(conn, table, ids, context, columns));
      return rows.map((row) => ({
        record: name(row[table.primaryKey]),
        fields: set === undefined
          ? Object.entries(row).map(([field, value]) => ({ field, old: value as JsonValue }))
          : Object.entries(set).map(([field, value]) => ({ field, old: (row[field] ?? null) as JsonValue, new: value })),
      }));
    },
    async check() {
      try {
        const conn = open();
        await whenUnlocked(() => { for (const table of system.tables.values()) conn.prepare(`SELECT 1 FROM ${quote(table.name)} LIMIT 1`).get(); });
        const keys = await whenUnlocked(() => keyProblems(conn, system));
        if (keys.length > 0) return { ok: false, error: keys.join('; ') };
        return { ok: true, detail: `${system.tables.size} table(s) readable, each keyed by a unique column` };
      } catch (error) {
        return { ok: false, error: (error as Error).message };
      }
    },
    async close() {
      statements.clear();
      db?.close();
      db = undefined;
    },
  };
}

function refuseIf(problems: readonly string[]): void {
  if (problems.length > 0) throw new PortcullisError('FORBIDDEN', `${problems.join('; ')}; nothing was changed`, { problems });
}

/**
 * What makes the configured tables unsafe to act on (SQLite `PRAGMA table_info`, `index_list`,
 * `index_info`): columns the config names that a table lacks (every read and write would fail
 * on them), and primary keys that do not identify one row — neither the table's single-column
 * PRIMARY KEY nor a column with a single-column UNIQUE index: an update naming one id of such a
 * column could change several rows.
 */
export function keyProblems(conn: Database.Database, system: SqlSystemConfig): string[] {
  const problems: string[] = [];
  for (const table of system.tables.values()) {
    const columns = conn.prepare(`PRAGMA table_info(${quote(table.name)})`).all() as { name: string; pk: number }[];
    // A missing table is the pre-flight check's to report (SELECT fails), not a key problem.
    if (columns.length === 0) continue;
    const present = new Set(columns.map((c) => c.name));
    const absent = table.columns.filter((c) => !present.has(c));
    if (absent.length > 0) {
      problems.push(`${system.name}:${table.name}: the table has no column${absent.length === 1 ? '' : 's'} ${absent.map((c) => `"${c}"`).join(', ')}, which systems.${system.name}.tables.${table.name}.columns names; add ${absent.length === 1 ? 'it' : 'them'} to the table or take ${absent.length === 1 ? 'it' : 'them'} out of the config`);
    }
    const primary = columns.filter((c) => c.pk > 0).map((c) => c.name);
    if (primary.length === 1 && primary[0] === table.primaryKey) continue;
    const indexes = conn.prepare(`PRAGMA index_list(${quote(table.name)})`).all() as { name: string; unique: number }[];
    const unique = indexes.filter((i) => i.unique === 1).some((i) => {
      const parts = conn.prepare(`PRAGMA index_info(${quote(i.name)})`).all() as { name: string | null }[];
      return parts.length === 1 && parts[0]?.name === table.primaryKey;
    });
    if (!unique) {
      problems.push(`${system.name}:${table.name}: primaryKey "${table.primaryKey}" is not unique in the table (it is not its PRIMARY KEY and has no UNIQUE index), so one id could name several rows; set systems.${system.name}.tables.${table.name}.primaryKey to a unique column${primary.length === 1 ? ` (the table's primary key is "${primary[0] as string}")` : ''}`);
    }
  }
  return problems;
}
