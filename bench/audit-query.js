/**
 * Audit query: one page of 100 events filtered by workflow and time over a generated trail of
 * 10,000,000 events (50 workflows, one event every 3 s, so about 347 days), through the real
 * store's `queryAudit` — what GET /v1/audit?workflow=&from=&to= runs. Windows of 1 hour,
 * 1 day, 7 days and 30 days at random places, plus the whole trail; and the shapes around it:
 * the newest 100 of one workflow and of five (a lead's dashboard, no window), and a 1-day
 * window of all workflows (an auditor's). tinybench times one query per sample, the database
 * warm in the page cache as in a running gateway.
 */
import { Bench } from 'tinybench';
import { TRAIL_STEP_MS, TRAIL_T0, ensureAuditTrail } from './audit-data.js';
import { WORKFLOWS } from './audit-events.js';
import { prng } from './policy-fixture.js';
import { round, row, serverModule } from './lib.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Runs the query benchmark. */
export async function runAuditQueryBenchmark({ quick }) {
  const count = quick ? 100_000 : 10_000_000;
  const trail = await ensureAuditTrail(count, { extendFrom: quick ? undefined : 1_000_000 });
  const { createSqliteStore } = await serverModule('store/sqlite/sqlite-store.js');
  const store = createSqliteStore({ path: trail.path });
  try {
    const migrating = Date.now();
    await store.migrate();
    const migrateSeconds = (Date.now() - migrating) / 1000;
    const end = TRAIL_T0 + count * TRAIL_STEP_MS;
    const random = prng(7);
    const windows = [HOUR, DAY, 7 * DAY, 30 * DAY];
    const queries = Array.from({ length: 64 }, (_, k) => {
      const span = Math.min(windows[k % windows.length], end - TRAIL_T0);
      const from = TRAIL_T0 + Math.floor(random() * (end - TRAIL_T0 - span));
      return { workflows: [`wf-${Math.floor(random() * WORKFLOWS)}`], from, to: from + span, limit: 100 };
    });
    const whole = { workflows: ['wf-7'], from: TRAIL_T0, to: end, limit: 100 };
    const pick = () => `wf-${Math.floor(random() * WORKFLOWS)}`;
    const newestOne = Array.from({ length: 64 }, () => ({ workflows: [pick()], order: 'desc', limit: 100 }));
    const newestFive = Array.from({ length: 64 }, () => ({ workflows: [pick(), pick(), pick(), pick(), pick()], order: 'desc', limit: 100 }));
    const allWorkflows = queries.map((q, k) => ({ from: q.from, to: q.from + Math.min(DAY, end - TRAIL_T0), limit: 100, ...(k % 2 === 0 ? { order: 'desc' } : {}) }));

    let i = 0;
    let short = 0;
    const bench = new Bench({ name: 'audit query', time: quick ? 300 : 3000, warmupTime: 200, throws: true });
    bench.add('random windows', async () => {
      const page = await store.queryAudit(queries[i]);
      i = (i + 1) % queries.length;
      if (page.length < 100) short += 1;
    });
    bench.add('whole trail window', async () => {
      const page = await store.queryAudit(whole);
      if (page.length < 100) short += 1;
    });
    let j = 0;
    for (const [name, list] of [['newest of one workflow', newestOne], ['newest of five workflows', newestFive], ['1-day window, all workflows', allWorkflows]]) {
      bench.add(name, async () => {
        const page = await store.queryAudit(list[j % list.length]);
        j += 1;
        if (page.length < 100) short += 1;
      });
    }
    await bench.run();
    const stat = (name) => {
      const r = bench.getTask(name)?.result;
      if (r?.state !== 'completed') throw new Error(`audit query ${name} did not complete`);
      return { samples: r.latency.samplesCount, p50ms: round(r.latency.p50, 3), p99ms: round(r.latency.p99, 3), maxMs: round(r.latency.max, 3) };
    };
    const windowsStat = stat('random windows');
    const wholeStat = stat('whole trail window');
    const others = { newestOne: stat('newest of one workflow'), newestFive: stat('newest of five workflows'), allWorkflows: stat('1-day window, all workflows') };
    const worst = Math.max(windowsStat.p99ms, wholeStat.p99ms);
    const otherWorst = Math.max(...Object.values(others).map((o) => o.p99ms));
    console.error(`  audit query over ${count.toLocaleString('en')} events: p50 ${windowsStat.p50ms} ms, p99 ${windowsStat.p99ms} ms; whole-trail window p99 ${wholeStat.p99ms} ms; newest 100 of one / five workflows p99 ${others.newestOne.p99ms} / ${others.newestFive.p99ms} ms; 1-day window of all workflows p99 ${others.allWorkflows.p99ms} ms`);
    return {
      rows: [row({
        id: 'audit.query', figure: `audit query, 100 events by workflow and time, over ${count.toLocaleString('en')} events (p99)`,
        value: windowsStat.p99ms, unit: 'ms', target: '≤ 50 ms', pass: worst <= 50,
        note: `windows of 1 h–30 d at random places: p50 ${windowsStat.p50ms} ms; whole-trail window (≈${Math.round(count / WORKFLOWS).toLocaleString('en')} events of one workflow): p99 ${wholeStat.p99ms} ms${quick ? '; --quick: a smaller trail' : ''}`,
      }), row({
        id: 'audit.query.others', figure: `audit query, 100 events, other shapes, over ${count.toLocaleString('en')} events (worst p99)`,
        value: otherWorst, unit: 'ms', target: '≤ 50 ms', pass: otherWorst <= 50,
        note: `newest of one workflow (no window): p50 ${others.newestOne.p50ms} / p99 ${others.newestOne.p99ms} ms; newest of five workflows: p50 ${others.newestFive.p50ms} / p99 ${others.newestFive.p99ms} ms; 1-day window of all workflows: p50 ${others.allWorkflows.p50ms} / p99 ${others.allWorkflows.p99ms} ms${quick ? '; --quick: a smaller trail' : ''}`,
      })],
      details: {
        events: count, trail: trail.path.replace(/^.*\/bench\//, 'bench/'), generatedSeconds: trail.generatedSeconds, cached: trail.cached, migrateSeconds,
        randomWindows: windowsStat, wholeTrailWindow: wholeStat, ...others, shortPages: short,
      },
    };
  } finally {
    await store.close();
  }
}
