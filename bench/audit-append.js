/**
 * Durable audit appends through the real SQLite store (WAL, synchronous=FULL), one event per
 * `appendAudit` call, as a request appends it:
 * - group commit: `concurrency` writers each append, wait until their event is durable, and
 *   append the next, so events that arrive together share one transaction and one fsync;
 * - baseline, one commit per event: a single writer appends and waits, so every event is its
 *   own transaction and fsync (the same store, the same code path, no concurrency).
 * Each run starts from a fresh database under bench/.data/append/.
 */
import { rmSync } from 'node:fs';
import { eventDraft } from './audit-events.js';
import { dataDir, round, row, serverModule, timeWorkload } from './lib.js';

const T0 = Date.UTC(2026, 0, 1);

/** Appends `total` single-event calls with `concurrency` writers in flight. */
async function appendLoop(store, first, total, concurrency) {
  let next = first;
  const end = first + total;
  const writer = async () => {
    while (next < end) {
      const i = next;
      next += 1;
      await store.appendAudit([eventDraft(i, T0 + i * 100)]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, writer));
}

/** Runs the append benchmark. */
export async function runAuditAppendBenchmark({ quick }) {
  const { createSqliteStore } = await serverModule('store/sqlite/sqlite-store.js');
  const dir = dataDir('append');
  const path = `${dir}/append.db`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  const store = createSqliteStore({ path });
  try {
    await store.migrate();
    const settings = {
      synchronous: store.database.pragma('synchronous', { simple: true }),
      journalMode: store.database.pragma('journal_mode', { simple: true }),
    };
    if (settings.synchronous !== 2 || settings.journalMode !== 'wal') throw new Error(`the store is not WAL + synchronous=FULL: ${JSON.stringify(settings)}`);

    const groupEvents = quick ? 20_000 : 100_000;
    const concurrency = 1000;
    const baselineEvents = quick ? 300 : 1500;
    let seq = 0;

    const before = store.stats();
    const group = await timeWorkload('audit append, group commit', async () => {
      await appendLoop(store, seq, groupEvents, concurrency);
      seq += groupEvents;
    }, { iterations: quick ? 2 : 3 });
    const after = store.stats();
    const groupRate = groupEvents / group.meanS;
    const runs = group.samples + 1; // tinybench's warm-up iteration appends too
    const eventsPerCommit = (after.operations - before.operations) / Math.max(1, after.committed - before.committed);
    console.error(`  audit append: group commit ${Math.round(groupRate)} events/s (${round(eventsPerCommit, 3)} events per commit over ${runs} runs)`);

    const single = await timeWorkload('audit append, one commit per event', async () => {
      await appendLoop(store, seq, baselineEvents, 1);
      seq += baselineEvents;
    }, { iterations: quick ? 1 : 2 });
    const singleRate = baselineEvents / single.meanS;
    console.error(`  audit append: one commit per event ${Math.round(singleRate)} events/s`);

    const ratio = groupRate / singleRate;
    return {
      rows: [row({
        id: 'audit.append', figure: 'durable audit appends, group commit (WAL, synchronous=FULL), one event per call',
        value: groupRate, unit: 'events/s', baseline: 'one commit per event', baselineValue: singleRate,
        ratio, target: '≥ 50,000 events/s and ≥ 10× baseline', pass: groupRate >= 50_000 && ratio >= 10,
        note: `${concurrency} writers in flight; ${round(eventsPerCommit, 3)} events per commit`,
      })],
      details: {
        ...settings, groupEvents, concurrency, baselineEvents, eventsPerCommit: round(eventsPerCommit, 4),
        groupSeconds: group, baselineSeconds: single, writeQueue: store.stats(),
      },
    };
  } finally {
    await store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  }
}
