/**
 * Durable audit appends through the real SQLite store (WAL, synchronous=FULL), one event per
 * `appendAudit` call, as a request appends it:
 * - group commit: `concurrency` writers each append, wait until their event is durable, and
 *   append the next, so events that arrive together share one transaction and one fsync;
 * - baseline, one commit per event: a single writer appends and waits, so every event is its
 *   own transaction and fsync (the same store, the same code path, no concurrency).
 * - group commit again, with SQLite's automatic checkpoint inside COMMIT instead of the store's
 *   checkpoint worker (`checkpoints: 'inline'`), in alternating rounds, as a same-run comparison.
 * Signed checkpoints are on for the product's rounds, as in the gateway: a cutter (every 1,000
 * events or 10 s, into a checkpoint log file) polled every second, on the same event loop.
 * Each run starts from fresh databases under bench/.data/append/.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A fresh store under bench/.data/append/, checked to be WAL + synchronous=FULL. */
async function freshStore(createSqliteStore, dir, name, checkpoints) {
  const path = `${dir}/${name}.db`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  const store = createSqliteStore({ path, checkpoints });
  await store.migrate();
  const settings = {
    synchronous: store.database.pragma('synchronous', { simple: true }),
    journalMode: store.database.pragma('journal_mode', { simple: true }),
  };
  if (settings.synchronous !== 2 || settings.journalMode !== 'wal') throw new Error(`the store is not WAL + synchronous=FULL: ${JSON.stringify(settings)}`);
  return { store, path, settings, seq: 0 };
}

/**
 * Runs the append benchmark: group commit on the product's store (WAL checkpoints in a worker
 * thread), the same with SQLite's automatic checkpoint inside COMMIT (`checkpoints: 'inline'`,
 * what the store did before), in alternating rounds, and one commit per event.
 */
export async function runAuditAppendBenchmark({ quick }) {
  const { createSqliteStore } = await serverModule('store/sqlite/sqlite-store.js');
  const { createCheckpointCutter, createFileSink } = await serverModule('audit-log/checkpoint-cutter.js');
  const { generateNoteKey, parseNoteSigner } = await serverModule('audit-log/signed-note.js');
  const dir = dataDir('append');
  const logDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-append-'));
  const opened = [];
  let poller;
  try {
    const product = await freshStore(createSqliteStore, dir, 'append', 'worker');
    opened.push(product);
    const inline = await freshStore(createSqliteStore, dir, 'append-inline', 'inline');
    opened.push(inline);
    const { store, settings } = product;
    // Signed checkpoints on, as the gateway runs them (wiring/gateway.ts polls once a second).
    const cutter = createCheckpointCutter({
      store, signer: parseNoteSigner(generateNoteKey('bench/append').signer), origin: 'bench/append',
      sinks: [createFileSink(logDir)], clock: { now: () => Date.now() }, everyEvents: 1000, everyMs: 10_000,
    });
    let cutting = Promise.resolve();
    poller = setInterval(() => { cutting = cutting.then(() => cutter.poll()).then(() => undefined); }, 1000);

    const groupEvents = quick ? 20_000 : 100_000;
    const concurrency = 1000;
    const baselineEvents = quick ? 300 : 1500;
    const rounds = quick ? 1 : 2;

    const before = store.stats();
    const timings = { worker: [], inline: [] };
    for (let round = 0; round < rounds; round += 1) {
      for (const [mode, target] of round % 2 === 0 ? [['worker', product], ['inline', inline]] : [['inline', inline], ['worker', product]]) {
        const timing = await timeWorkload(`audit append, group commit, ${mode} checkpoints`, async () => {
          await appendLoop(target.store, target.seq, groupEvents, concurrency);
          target.seq += groupEvents;
        }, { iterations: quick ? 2 : 3, warmup: round === 0 ? 1 : 0 });
        timings[mode].push(timing);
      }
    }
    clearInterval(poller);
    poller = undefined;
    await cutting;
    const checkpointsCut = readFileSync(join(logDir, 'checkpoints.jsonl'), 'utf8').split('\n').filter((line) => line !== '').length;
    if (checkpointsCut === 0 || cutter.status().forked !== undefined) throw new Error(`the checkpoint cutter published ${checkpointsCut} checkpoints${cutter.status().forked === undefined ? '' : `: ${cutter.status().forked}`}`);
    const after = store.stats();
    const rate = (list) => groupEvents * list.reduce((n, t) => n + t.samples, 0) / list.reduce((s, t) => s + t.meanS * t.samples, 0);
    const groupRate = rate(timings.worker);
    const inlineRate = rate(timings.inline);
    const eventsPerCommit = (after.operations - before.operations) / Math.max(1, after.committed - before.committed);
    console.error(`  audit append: group commit ${Math.round(groupRate)} events/s (${round(eventsPerCommit, 3)} events per commit); with checkpoints inside COMMIT ${Math.round(inlineRate)} events/s`);

    const single = await timeWorkload('audit append, one commit per event', async () => {
      await appendLoop(store, product.seq, baselineEvents, 1);
      product.seq += baselineEvents;
    }, { iterations: quick ? 1 : 2 });
    const singleRate = baselineEvents / single.meanS;
    console.error(`  audit append: one commit per event ${Math.round(singleRate)} events/s`);

    const ratio = groupRate / singleRate;
    return {
      rows: [row({
        id: 'audit.append', figure: 'durable audit appends, group commit (WAL, synchronous=FULL), one event per call',
        value: groupRate, unit: 'events/s', baseline: 'one commit per event', baselineValue: singleRate,
        ratio, target: '≥ 50,000 events/s and ≥ 10× baseline', pass: groupRate >= 50_000 && ratio >= 10,
        note: `${concurrency} writers in flight; ${round(eventsPerCommit, 3)} events per commit; signed checkpoints on (${checkpointsCut} cut, one per second at most, as the gateway polls); WAL checkpoints in a worker thread (with SQLite's checkpoint inside COMMIT, in alternating rounds: ${Math.round(inlineRate).toLocaleString('en-US')} events/s, ${round(groupRate / inlineRate, 3)}×)`,
      })],
      details: {
        ...settings, checkpointsCut, groupEvents, concurrency, baselineEvents, eventsPerCommit: round(eventsPerCommit, 4),
        groupSeconds: timings.worker, inlineCheckpointSeconds: timings.inline, inlineRate: round(inlineRate, 4), baselineSeconds: single,
        writeQueue: store.stats(), walCheckpoints: store.checkpointStats(),
      },
    };
  } finally {
    if (poller !== undefined) clearInterval(poller);
    rmSync(logDir, { recursive: true, force: true });
    for (const { store, path } of opened) {
      await store.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    }
  }
}
