/**
 * The actions a SQL system offers, derived from its table config without connecting:
 * `<system>.<table>.read|create|update|delete`. Parameter schemas reject unknown columns and
 * writes to the primary key, so what reaches the policy names real fields only.
 */
import { z } from 'zod';
import type { ActionSpec } from '../../config/action-spec.js';
import type { SqlSystemConfig, SqlTableConfig } from './sql-settings.js';

/** The most records one SQL action may name, whatever the workflow's bound. */
export const SQL_MAX_IDS = 1000;

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const id = z.union([z.string().min(1), z.number().int()]);
const ids = z.array(id).min(1, 'name at least one record id').max(SQL_MAX_IDS);

function columnRecord(table: SqlTableConfig, options: { excludePrimaryKey: boolean }) {
  const shape: Record<string, z.ZodOptional<typeof scalar>> = {};
  for (const column of table.columns) {
    if (options.excludePrimaryKey && column === table.primaryKey) continue;
    shape[column] = scalar.optional();
  }
  return z.strictObject(shape).refine((value) => Object.keys(value).length > 0, 'name at least one column');
}

/** The read, create, update and delete actions of every table of a SQL system. */
export function sqlActionSpecs(system: SqlSystemConfig): ActionSpec[] {
  const specs: ActionSpec[] = [];
  for (const table of system.tables.values()) {
    const prefix = `${system.name}.${table.name}`;
    const columnEnum = z.enum(table.columns as [string, ...string[]]);
    const readParams = z.strictObject({
      ids: ids.optional(),
      where: z.strictObject(Object.fromEntries(table.columns.map((c) => [c, scalar.optional()]))).optional(),
      columns: z.array(columnEnum).min(1).optional(),
      limit: z.number().int().min(1).max(SQL_MAX_IDS).optional(),
    });
    specs.push({
      name: `${prefix}.read`, system: system.name, resource: table.name, verb: 'read', tags: [], reversible: true,
      undo: 'a read changes nothing',
      description: `Read rows of ${table.name} (optionally by ids, equality filters and columns).`,
      params: readParams,
      // A filter reads the column it filters on (an agent could otherwise learn an ungranted
      // column's values by asking which rows match); ids name records by their primary key.
      touchedFields: (params) => {
        const read = params as z.infer<typeof readParams>;
        return [...new Set([...(read.columns ?? table.columns), ...Object.keys(read.where ?? {})])];
      },
      // The records it names (a filtered read names none: its page size bounds it).
      recordCount: (params) => (params as z.infer<typeof readParams>).ids?.length,
    });
    const createParams = z.strictObject({ values: columnRecord(table, { excludePrimaryKey: false }) });
    specs.push({
      name: `${prefix}.create`, system: system.name, resource: table.name, verb: 'create', tags: [], reversible: true,
      undo: 'deletes the created row, if it is unchanged since',
      description: `Insert one row into ${table.name}.`,
      params: createParams,
      touchedFields: (params) => Object.keys((params as z.infer<typeof createParams>).values),
      recordCount: () => 1,
    });
    const updateParams = z.strictObject({ ids, set: columnRecord(table, { excludePrimaryKey: true }) });
    specs.push({
      name: `${prefix}.update`, system: system.name, resource: table.name, verb: 'update', tags: [], reversible: true,
      undo: 'restores the changed columns from the before-image, on each row that still holds the values written (a row changed since is left alone and named as drifted)',
      description: `Set columns of the rows of ${table.name} with the given ids.`,
      params: updateParams,
      touchedFields: (params) => Object.keys((params as z.infer<typeof updateParams>).set),
      recordCount: (params) => (params as z.infer<typeof updateParams>).ids.length,
    });
    const deleteParams = z.strictObject({ ids });
    specs.push({
      name: `${prefix}.delete`, system: system.name, resource: table.name, verb: 'delete', tags: ['delete'], reversible: true,
      undo: 're-inserts each deleted row from the before-image, if its key is still free',
      description: `Delete the rows of ${table.name} with the given ids.`,
      params: deleteParams,
      touchedFields: () => [],
      recordCount: (params) => (params as z.infer<typeof deleteParams>).ids.length,
    });
  }
  return specs;
}
