/** The `kind: sql` system kind: SQLite tables, with field-level grants and data scopes. */
import type { SystemKind } from '../connector.js';
import { sqlActionSpecs } from './sql-actions.js';
import { compileSqlSystem, sqlSystemSchema, sqlTargetProblem, type SqlSystemConfig, type SqlSystemSettings } from './sql-settings.js';
import Database from 'better-sqlite3';
import { createSqliteConnector, keyProblems } from './sqlite-connector.js';
import { didYouMean } from '../../config/suggest.js';

export const sqlKind: SystemKind<SqlSystemConfig, SqlSystemSettings> = {
  kind: 'sql',
  settings: sqlSystemSchema,
  compile: compileSqlSystem,
  actionSpecs: (system) => sqlActionSpecs(system),
  grantProblem(system, grant, written) {
    const problem = sqlTargetProblem(system, grant);
    return problem === undefined ? undefined : `grant "${written.text}": ${problem}`;
  },
  scopeProblem(system, resource, field) {
    const problem = sqlTargetProblem(system, { system: system.name, resource });
    if (problem !== undefined) return { at: 'key', message: problem };
    const columns = system.tables.get(resource)?.columns ?? [];
    if (columns.includes(field)) return undefined;
    const hint = didYouMean(field, columns) || `; the scope field must be one of its columns: ${columns.join(', ')}`;
    return { at: 'field', message: `"${field}" is not a column of ${system.name}:${resource}${hint}` };
  },
  connect: (system) => createSqliteConnector(system),
  async problemsAtStart(system) {
    let conn: Database.Database;
    try {
      conn = new Database(system.path, { readonly: true, fileMustExist: true });
    } catch {
      return [];
    }
    try {
      return keyProblems(conn, system);
    } finally {
      conn.close();
    }
  },
};
