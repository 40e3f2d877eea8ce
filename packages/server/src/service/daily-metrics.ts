/**
 * A workflow's daily figures, counted from its audit trail (so they are as trustworthy as the
 * trail), by calendar day in the gateway's time zone (`timeZone`, default UTC; days are cut
 * with Luxon, so a day with a daylight-saving change has 23 or 25 hours). The counting rules
 * are the core's (`dailyFigures`).
 */
import { PortcullisError, dailyFigures, type DailyFigures, type FigureEntry } from '@portcullis/core';
import { DateTime } from 'luxon';
import type { StoredAuditEvent } from '../store/store.js';
import { visibleWorkflows, type Caller } from './callers.js';
import { workflowOf, type ServiceDeps } from './deps.js';

/** The calendar day (YYYY-MM-DD) of an instant in `zone`. */
export function dayOf(ms: number, zone: string): string {
  return DateTime.fromMillis(ms, { zone }).toISODate() ?? '';
}

/** The first millisecond of `day` in `zone`, and the first of the next day. */
export function dayBounds(day: string, zone: string): { start: number; end: number } {
  const start = DateTime.fromISO(day, { zone }).startOf('day');
  return { start: start.toMillis(), end: start.plus({ days: 1 }).toMillis() };
}

/** `day` moved by `days` calendar days. */
export function addDays(day: string, days: number): string {
  return DateTime.fromISO(day, { zone: 'UTC' }).plus({ days }).toISODate() ?? day;
}

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** The longest range one request may ask for, in days. */
export const MAX_METRICS_DAYS = 366;

const TYPES = [
  'proposal.received', 'proposal.decided', 'approval.granted', 'approval.rejected', 'proposal.cancelled', 'execution.refused',
  'proposal.expired', 'execution.started', 'execution.succeeded', 'execution.failed', 'execution.outcome_unknown', 'alert.raised',
] as const;

/** What an event counts as, or undefined when it does not count. */
function entryOf(event: StoredAuditEvent, createdAt: (id: string) => Promise<number | undefined>): Promise<FigureEntry | undefined> | FigureEntry | undefined {
  switch (event.type) {
    case 'proposal.received': return { kind: 'proposed' };
    case 'proposal.decided': return event.data.outcome === 'deny' ? { kind: 'denied' } : undefined;
    case 'approval.granted':
    case 'approval.rejected': {
      const kind = event.type === 'approval.granted' ? 'approved' : 'rejected';
      return createdAt(event.proposalId ?? '').then((created) => ({ kind, waitMs: created === undefined ? 0 : Math.max(0, event.at - created) }));
    }
    case 'proposal.cancelled':
    case 'execution.refused': return { kind: 'cancelled' };
    case 'proposal.expired': return { kind: 'expired' };
    case 'execution.started': return event.data.approvedBy === 'policy (auto)' ? { kind: 'auto_executed' } : undefined;
    case 'execution.succeeded': return { kind: 'succeeded' };
    case 'execution.failed': return { kind: 'failed' };
    case 'execution.outcome_unknown': return { kind: 'outcome_unknown' };
    case 'alert.raised': return event.data.kind === 'breaker_tripped' ? { kind: 'breaker_tripped' } : undefined;
    default: return undefined;
  }
}

/**
 * The figures of `workflow` for each day from `from` through `to` (YYYY-MM-DD, inclusive), in
 * the gateway's time zone; a day without events has zeros and null rates.
 */
export async function workflowFigures(deps: ServiceDeps, workflow: string, from: string, to: string): Promise<DailyFigures[]> {
  const zone = deps.config.timeZone;
  const start = dayBounds(from, zone).start;
  const end = dayBounds(to, zone).end;
  const created = new Map<string, number>();
  const createdAt = async (id: string): Promise<number | undefined> => created.get(id) ?? (await deps.store.getProposal(id))?.createdAt;
  const byDay = new Map<string, FigureEntry[]>();
  for (let day = from; day <= to; day = addDays(day, 1)) byDay.set(day, []);
  let afterSeq: number | undefined;
  for (;;) {
    const page = await deps.store.queryAudit({ workflows: [workflow], types: [...TYPES], from: start, to: end - 1, limit: 1000, ...(afterSeq === undefined ? {} : { afterSeq }) });
    for (const event of page) {
      if (event.type === 'proposal.received' && event.proposalId !== undefined) created.set(event.proposalId, event.at);
      const entry = await entryOf(event, createdAt);
      if (entry !== undefined) byDay.get(dayOf(event.at, zone))?.push(entry);
    }
    if (page.length < 1000) break;
    afterSeq = page[page.length - 1]?.seq;
  }
  return [...byDay].map(([day, entries]) => dailyFigures(day, entries));
}

/** A request for figures: days as YYYY-MM-DD, both optional (default: the last 7 days through today). */
export interface MetricsQuery {
  readonly from?: string;
  readonly to?: string;
}

/** What `GET /v1/workflows/{id}/metrics` answers. */
export interface WorkflowMetrics {
  readonly workflow: string;
  readonly timeZone: string;
  readonly days: readonly DailyFigures[];
}

/**
 * The daily figures of a workflow the caller may see.
 * @throws PortcullisError WORKFLOW_NOT_FOUND; FORBIDDEN when the caller may not see it;
 *   INVALID_REQUEST for a day that is not YYYY-MM-DD, `from` after `to`, or more than 366 days.
 */
export async function metricsFor(deps: ServiceDeps, caller: Caller, id: string, query: MetricsQuery): Promise<WorkflowMetrics> {
  const workflow = workflowOf(deps.config, id);
  if (!visibleWorkflows(deps.config, caller).includes(workflow.id)) {
    throw new PortcullisError('FORBIDDEN', `workflow "${id}" is not one of yours; ask an admin or a lead of department "${workflow.department}"`, { workflow: id });
  }
  const zone = deps.config.timeZone;
  const today = dayOf(deps.clock.now(), zone);
  const to = query.to ?? today;
  const from = query.from ?? addDays(to, -6);
  for (const [name, value] of [['from', from], ['to', to]] as const) {
    if (!DAY_PATTERN.test(value) || !DateTime.fromISO(value, { zone }).isValid) throw new PortcullisError('INVALID_REQUEST', `${name}: "${value}" is not a calendar day; write YYYY-MM-DD, e.g. ${today}`);
  }
  if (from > to) throw new PortcullisError('INVALID_REQUEST', `from (${from}) is after to (${to}); nothing to count`);
  if (addDays(from, MAX_METRICS_DAYS) <= to) throw new PortcullisError('INVALID_REQUEST', `from ${from} to ${to} is more than ${MAX_METRICS_DAYS} days; ask for a shorter range`);
  return { workflow: workflow.id, timeZone: zone, days: await workflowFigures(deps, workflow.id, from, to) };
}
