import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEventDraft } from '@portcullis/core';
import type { AuditFilter } from '../store.js';
import { createSqliteStore } from './sqlite-store.js';

/**
 * The workflow-and-time query path (the (workflow, at) index, then the page's rows) must
 * return exactly what a plain filter over the trail returns, whatever the order of times.
 */
describe('SQLite audit query by workflow and time', () => {
  const store = createSqliteStore({ path: ':memory:' });
  afterAll(() => store.close());
  const T0 = Date.UTC(2026, 0, 1);
  // Times mostly rise with seq, with a clock that sometimes steps back, over 5 workflows.
  const drafts: AuditEventDraft[] = Array.from({ length: 600 }, (_, i) => ({
    type: 'execution.started', at: T0 + i * 1000 - (i % 7 === 0 ? 50_000 : 0),
    actor: { kind: 'system', id: 'gateway' }, workflow: `wf-${(i * 13) % 5}`, data: { i },
  }));
  const ready = (async () => {
    await store.migrate();
    await store.appendAudit(drafts);
  })();

  /** The events a filter selects, by brute force over the drafts. */
  function expected(filter: AuditFilter): number[] {
    const seqs = drafts.map((d, i) => ({ d, seq: i + 1 })).filter(({ d, seq }) =>
      (filter.workflows === undefined || filter.workflows.includes(d.workflow ?? ''))
      && (filter.from === undefined || d.at >= filter.from) && (filter.to === undefined || d.at <= filter.to)
      && (filter.afterSeq === undefined || seq > filter.afterSeq) && (filter.beforeSeq === undefined || seq < filter.beforeSeq)).map(({ seq }) => seq);
    if (filter.order === 'desc') seqs.reverse();
    return seqs.slice(0, filter.limit);
  }

  it('returns what a plain filter returns, in seq order, for any window, paging and order', async () => {
    await ready;
    const filter = fc.record({
      workflows: fc.subarray(['wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4'], { minLength: 1 }),
      from: fc.option(fc.integer({ min: -60, max: 620 }).map((s) => T0 + s * 1000), { nil: undefined }),
      to: fc.option(fc.integer({ min: -60, max: 620 }).map((s) => T0 + s * 1000), { nil: undefined }),
      afterSeq: fc.option(fc.integer({ min: 0, max: 600 }), { nil: undefined }),
      beforeSeq: fc.option(fc.integer({ min: 1, max: 601 }), { nil: undefined }),
      limit: fc.integer({ min: 1, max: 120 }),
      order: fc.constantFrom('asc' as const, 'desc' as const),
    }).filter((f) => f.from !== undefined || f.to !== undefined);
    await fc.assert(fc.asyncProperty(filter, async (f) => {
      const clean = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as unknown as AuditFilter;
      expect((await store.queryAudit(clean)).map((e) => e.seq)).toEqual(expected(clean));
    }), { numRuns: 200 });
  });

  it('finds the page in the (workflow, at) index without reading other rows', async () => {
    await ready;
    const plan = store.database.prepare(`EXPLAIN QUERY PLAN SELECT seq FROM audit_events INDEXED BY audit_events_workflow_at
      WHERE workflow IN (SELECT value FROM json_each(?)) AND at >= ? AND at <= ? ORDER BY seq LIMIT 100`).all('["wf-1"]', T0, T0 + 1000) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' | ')).toContain('COVERING INDEX audit_events_workflow_at');
  });
});
