/**
 * `kind: sql` systems in portcullis.yaml: a database file and the tables agents may act on,
 * each with its primary key and the columns agents may see and (with a grant) change.
 * Invariants: a table's primary key is one of its listed columns; a column is listed once;
 * grants name real tables and columns; data scopes bound a table by one of its columns.
 */
import { z } from 'zod';
import type { Grant } from '@portcullis/core';
import type { ConfigIssue } from '../../config/issues.js';
import { didYouMean } from '../../config/suggest.js';
import { nameSetting } from '../../config/system-common.js';
import type { SystemCompileContext } from '../../config/system-kind.js';

/** The primary key of a table when the config names none. */
export const DEFAULT_PRIMARY_KEY = 'id';

/** A table a SQL system exposes. */
export interface SqlTableConfig {
  readonly name: string;
  readonly primaryKey: string;
  readonly columns: readonly string[];
}

/** A SQL system (SQLite now; PostgreSQL later). */
export interface SqlSystemConfig {
  readonly kind: 'sql';
  readonly name: string;
  readonly driver: 'sqlite';
  /** Absolute path of the database file. */
  readonly path: string;
  readonly tables: ReadonlyMap<string, SqlTableConfig>;
}

const sqlTable = z.strictObject({
  primaryKey: nameSetting.default(DEFAULT_PRIMARY_KEY).describe('Column that identifies a row; never written by actions.'),
  columns: z.array(nameSetting).min(1, { error: 'list at least one column' }).describe('Columns agents may see and (with a grant) change.'),
});

/** The settings of a SQL system. */
export const sqlSystemSchema = z.strictObject({
  kind: z.literal('sql'),
  driver: z.literal('sqlite', { error: 'expected driver: sqlite (the only SQL driver so far)' }),
  path: z.string().min(1).describe('Database file, relative to the config file\'s folder.'),
  tables: z.record(nameSetting, sqlTable),
});

export type SqlSystemSettings = z.output<typeof sqlSystemSchema>;

/** Compiles a SQL system: the database path made absolute, tables by name; problems with its tables go to `issues`. */
export function compileSqlSystem(name: string, settings: SqlSystemSettings, context: SystemCompileContext, issues: ConfigIssue[]): SqlSystemConfig {
  const need = (ok: boolean, path: (string | number)[], message: string): void => { if (!ok) issues.push({ path: ['systems', name, ...path], message }); };
  need(Object.keys(settings.tables).length > 0, ['tables'], `system "${name}" has no tables; list at least one so it offers actions`);
  const tables = new Map<string, SqlTableConfig>();
  for (const [table, t] of Object.entries(settings.tables)) {
    need(t.columns.includes(t.primaryKey), ['tables', table, 'primaryKey'], `primary key "${t.primaryKey}" is not one of the columns of ${name}:${table}; add it to columns or name the right column`);
    t.columns.forEach((column, i) => need(t.columns.indexOf(column) === i, ['tables', table, 'columns', i], `column "${column}" is listed twice; remove one`));
    tables.set(table, Object.freeze({ name: table, primaryKey: t.primaryKey, columns: Object.freeze([...t.columns]) }));
  }
  return { kind: 'sql', name, driver: settings.driver, path: context.resolvePath(settings.path), tables };
}

/** What is wrong with the table or column a grant (or a data scope) on a SQL system names, if anything. */
export function sqlTargetProblem(system: SqlSystemConfig, grant: Pick<Grant, 'system' | 'resource' | 'field'>): string | undefined {
  const table = system.tables.get(grant.resource);
  if (table === undefined) return `system "${grant.system}" has no table "${grant.resource}"${didYouMean(grant.resource, system.tables.keys())}`;
  if (grant.field !== undefined && !table.columns.includes(grant.field)) {
    return `${grant.system}:${grant.resource} has no column "${grant.field}"${didYouMean(grant.field, table.columns)}`;
  }
  return undefined;
}
