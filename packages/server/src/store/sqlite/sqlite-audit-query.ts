/**
 * The SQL of an audit query (`GET /v1/audit`, the dashboard, exports), chosen so that a page
 * of 100 reads about 100 rows however long the trail is. Invariant: every shape returns exactly
 * the events a plain filter over the trail returns, in seq order, capped at the limit; only the
 * way SQLite finds them differs. The shapes, by the filter:
 * - workflows and a time window (and no other filter): the page's sequence numbers come from
 *   the (workflow, at) index alone (seq, the rowid, is in each entry), then only its rows are read;
 * - a time window alone: the same from the (at) index;
 * - workflows without a window: one branch per workflow down the (workflow, seq) index, each
 *   stopping at the limit, merged by seq (SQLite cannot walk `workflow IN (…)` in seq order: it
 *   read every event of the workflows and sorted them, 320 ms for 200,000 events);
 * - anything else (a proposal's events come from its own index): one filtered query in seq order.
 */
import type { AuditFilter } from '../store.js';

/** An event's leaf index in the tree, as a query column. */
const TREE_INDEX = 'seq - 1 - (SELECT base_seq FROM audit_tree WHERE id = 1) AS tree_index';

/** More workflows than this are read in one scan, not one branch each (SQLite allows 500 terms in a compound SELECT). */
const MAX_WORKFLOW_BRANCHES = 64;

/** A query's SQL and its positional arguments; it selects `body` and `tree_index`. */
export interface AuditQuerySql {
  readonly sql: string;
  readonly args: readonly (string | number)[];
}

/**
 * The SQL of `filter`, or undefined when it matches nothing (an empty workflow or type list: a
 * lead of no workflow sees no events, never everything). `limit` is the page size, already clamped.
 */
export function auditQuerySql(filter: AuditFilter, limit: number): AuditQuerySql | undefined {
  if (filter.workflows?.length === 0 || filter.types?.length === 0) return undefined;
  const where: string[] = [];
  const args: (string | number)[] = [];
  const eq = (clause: string, value: string | number | undefined): void => {
    if (value === undefined) return;
    where.push(clause);
    args.push(value);
  };
  if (filter.types !== undefined) eq('type IN (SELECT value FROM json_each(?))', JSON.stringify(filter.types));
  eq('proposal_id = ?', filter.proposalId);
  eq('actor_id = ?', filter.actorId);
  eq('at >= ?', filter.from);
  eq('at <= ?', filter.to);
  eq('seq > ?', filter.afterSeq);
  eq('seq < ?', filter.beforeSeq);
  const order = filter.order === 'desc' ? 'DESC' : 'ASC';
  const window = filter.from !== undefined || filter.to !== undefined;
  const onlyWindow = window && filter.types === undefined && filter.proposalId === undefined && filter.actorId === undefined;
  const page = (inner: string, innerArgs: readonly (string | number)[]): AuditQuerySql => ({
    sql: `SELECT body, ${TREE_INDEX} FROM audit_events WHERE seq IN (${inner} ORDER BY seq ${order} LIMIT ?) ORDER BY seq ${order}`,
    args: [...innerArgs, limit],
  });
  const and = (clauses: readonly string[]): string => (clauses.length > 0 ? ` AND ${clauses.join(' AND ')}` : '');

  const workflows = filter.workflows === undefined ? undefined : [...new Set(filter.workflows)];
  if (workflows !== undefined && onlyWindow) {
    return page(`SELECT seq FROM audit_events INDEXED BY audit_events_workflow_at WHERE workflow IN (SELECT value FROM json_each(?))${and(where)}`, [JSON.stringify(workflows), ...args]);
  }
  if (workflows === undefined && onlyWindow) {
    return page(`SELECT seq FROM audit_events INDEXED BY audit_events_at WHERE ${where.join(' AND ')}`, args);
  }
  if (workflows !== undefined && !window && filter.proposalId === undefined && workflows.length <= MAX_WORKFLOW_BRANCHES) {
    const branch = `SELECT seq FROM (SELECT seq FROM audit_events INDEXED BY audit_events_workflow WHERE workflow = ?${and(where)} ORDER BY seq ${order} LIMIT ?)`;
    return page(workflows.map(() => branch).join(' UNION ALL '), workflows.flatMap((workflow) => [workflow, ...args, limit]));
  }
  if (workflows !== undefined) {
    where.unshift('workflow IN (SELECT value FROM json_each(?))');
    args.unshift(JSON.stringify(workflows));
  }
  return {
    sql: `SELECT body, ${TREE_INDEX} FROM audit_events${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ?`,
    args: [...args, limit],
  };
}
