import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEventDraft } from '@portcullis/core';
import type { AuditFilter } from '../store.js';
import { auditQuerySql } from './sqlite-audit-query.js';
import { createSqliteStore } from './sqlite-store.js';

/**
 * Every query shape (sqlite-audit-query.ts: an index for the page's sequence numbers, then the
 * page's rows) must return exactly what a plain filter over the trail returns, whatever the
 * order of times, and each shape must use its index.
 */
describe('SQLite audit query shapes', () => {
  const store = createSqliteStore({ path: ':memory:' });
  afterAll(() => store.close());
  const T0 = Date.UTC(2026, 0, 1);
  // Times mostly rise with seq, with a clock that sometimes steps back, over 5 workflows.
  const TYPES = ['execution.started', 'proposal.received', 'approval.granted'] as const;
  const drafts: AuditEventDraft[] = Array.from({ length: 600 }, (_, i) => ({
    type: TYPES[i % 3] as AuditEventDraft['type'], at: T0 + i * 1000 - (i % 7 === 0 ? 50_000 : 0),
    actor: { kind: 'system', id: `actor-${i % 4}` }, workflow: `wf-${(i * 13) % 5}`, proposalId: `p${i % 10}`, data: { i },
  }));
  const ready = (async () => {
    await store.migrate();
    await store.appendAudit(drafts);
  })();

  /** The events a filter selects, by brute force over the drafts. */
  function expected(filter: AuditFilter): number[] {
    const seqs = drafts.map((d, i) => ({ d, seq: i + 1 })).filter(({ d, seq }) =>
      (filter.workflows === undefined || filter.workflows.includes(d.workflow ?? ''))
      && (filter.types === undefined || filter.types.includes(d.type)) && (filter.actorId === undefined || d.actor.id === filter.actorId)
      && (filter.proposalId === undefined || d.proposalId === filter.proposalId)
      && (filter.from === undefined || d.at >= filter.from) && (filter.to === undefined || d.at <= filter.to)
      && (filter.afterSeq === undefined || seq > filter.afterSeq) && (filter.beforeSeq === undefined || seq < filter.beforeSeq)).map(({ seq }) => seq);
    if (filter.order === 'desc') seqs.reverse();
    return seqs.slice(0, filter.limit);
  }

  const filters = fc.record({
    workflows: fc.option(fc.array(fc.constantFrom('wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4', 'wf-none'), { maxLength: 7 }), { nil: undefined }),
    types: fc.option(fc.subarray([...TYPES]), { nil: undefined }),
    actorId: fc.option(fc.constantFrom('actor-0', 'actor-3', 'nobody'), { nil: undefined }),
    proposalId: fc.option(fc.constantFrom('p0', 'p7'), { nil: undefined }),
    from: fc.option(fc.integer({ min: -60, max: 620 }).map((s) => T0 + s * 1000), { nil: undefined }),
    to: fc.option(fc.integer({ min: -60, max: 620 }).map((s) => T0 + s * 1000), { nil: undefined }),
    afterSeq: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
    beforeSeq: fc.option(fc.integer({ min: 1, max: 601 }), { nil: undefined }),
    limit: fc.integer({ min: 1, max: 120 }),
    order: fc.constantFrom('asc' as const, 'desc' as const),
  });
  const clean = (f: object): AuditFilter => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as unknown as AuditFilter;

  it('returns what a plain filter returns, in seq order, for any filter, window, paging and order', async () => {
    await ready;
    await fc.assert(fc.asyncProperty(filters, async (f) => {
      const filter = clean(f);
      expect((await store.queryAudit(filter)).map((e) => e.seq)).toEqual(expected(filter));
    }), { numRuns: 400 });
  });

  it('returns what a plain filter returns for each shape, the workflow lists with duplicates', async () => {
    await ready;
    for (const filter of [
      { workflows: ['wf-1', 'wf-3', 'wf-1'], limit: 50, order: 'desc' as const },
      { workflows: ['wf-2'], afterSeq: 100, limit: 30 },
      { workflows: ['wf-0', 'wf-4'], types: ['approval.granted' as const], beforeSeq: 500, limit: 20, order: 'desc' as const },
      { workflows: ['wf-1', 'wf-1'], from: T0 + 100_000, to: T0 + 300_000, limit: 40 },
      { from: T0 + 100_000, to: T0 + 300_000, limit: 40, order: 'desc' as const },
      { workflows: Array.from({ length: 70 }, (_, i) => `wf-${i}`), limit: 100 },
    ]) expect((await store.queryAudit(filter)).map((e) => e.seq), JSON.stringify(filter)).toEqual(expected(filter));
  });

  /** The query plan SQLite makes for a filter's SQL. */
  const plan = (filter: AuditFilter): string => {
    const query = auditQuerySql(filter, 100);
    if (query === undefined) throw new Error('no query');
    return (store.database.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.args) as { detail: string }[]).map((p) => p.detail).join(' | ');
  };

  it('finds a window\'s page in the (workflow, at) or (at) index without reading other rows', async () => {
    await ready;
    expect(plan({ workflows: ['wf-1'], from: T0, to: T0 + 1000, limit: 100 })).toContain('COVERING INDEX audit_events_workflow_at');
    expect(plan({ from: T0, to: T0 + 1000, limit: 100 })).toContain('COVERING INDEX audit_events_at');
  });

  it('walks each workflow\'s (workflow, seq) index in seq order when there is no window, sorting no more than the page', async () => {
    await ready;
    for (const workflows of [['wf-1'], ['wf-1', 'wf-2', 'wf-3']]) {
      const detail = plan({ workflows, limit: 100, order: 'desc' });
      expect(detail.match(/COVERING INDEX audit_events_workflow \(workflow=\?\)/g)).toHaveLength(workflows.length);
      expect(detail).not.toContain('json_each');
    }
  });

  it('matches nothing for an empty workflow or type list, and for a limit of 0', async () => {
    await ready;
    expect(auditQuerySql({ workflows: [], limit: 10 }, 10)).toBeUndefined();
    expect(auditQuerySql({ types: [], limit: 10 }, 10)).toBeUndefined();
    expect(await store.queryAudit({ workflows: [], limit: 10 })).toEqual([]);
    expect(await store.queryAudit({ limit: 0 })).toEqual([]);
  });
});
