/**
 * Generated audit trails for the verify and query benchmarks, cached under bench/.data/ so
 * a rerun reuses them. Events go in through the real store's `appendAudit` (sealed as Merkle
 * tree leaves by the core, inserted with the store's own statements and indexes, committed by
 * its write queue), in calls of 5,000 events with several calls in flight, so a transaction
 * holds tens of thousands of events. The only departure from the gateway's settings is
 * synchronous=NORMAL while generating (a store option): the benchmarks read the data, they
 * do not measure how it was written, and the file is checkpointed and closed before use.
 *
 * Event `i` is at T0 + i × 3 s, so a smaller trail is a prefix of a larger one and the larger
 * one is made by copying the smaller and appending the rest.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { eventDraft } from './audit-events.js';
import { dataDir, serverModule } from './lib.js';

/** When the first generated event happened, and the time between events. */
export const TRAIL_T0 = Date.UTC(2025, 0, 1);
export const TRAIL_STEP_MS = 3000;
/** Bump when the generated events change, so stale caches are rebuilt. */
const GENERATOR_VERSION = 2;

const CALL_EVENTS = 5000;
const CALLS_IN_FLIGHT = 8;

function manifestOf(path) {
  try {
    return JSON.parse(readFileSync(`${path}.json`, 'utf8'));
  } catch {
    return undefined;
  }
}

function removeDb(path) {
  for (const suffix of ['', '-wal', '-shm', '.json']) rmSync(`${path}${suffix}`, { force: true });
}

/** Appends events `from` .. `to`-1 to the store at `path`. */
async function append(path, from, to, log) {
  const { createSqliteStore } = await serverModule('store/sqlite/sqlite-store.js');
  const store = createSqliteStore({ path, synchronous: 'NORMAL' });
  try {
    await store.migrate();
    const head = await store.auditHead();
    if (head.seq !== from) throw new Error(`${path}: expected ${from} events, found ${head.seq}; delete bench/.data/ and rerun`);
    const started = Date.now();
    let next = from;
    let reported = from;
    const writer = async () => {
      while (next < to) {
        const first = next;
        const count = Math.min(CALL_EVENTS, to - first);
        next += count;
        const drafts = new Array(count);
        for (let k = 0; k < count; k += 1) drafts[k] = eventDraft(first + k, TRAIL_T0 + (first + k) * TRAIL_STEP_MS);
        await store.appendAudit(drafts);
        if (next - reported >= 500_000) {
          reported = next;
          const rate = (next - from) / ((Date.now() - started) / 1000);
          log(`  generating ${path.split('/').pop()}: ${next.toLocaleString('en')} / ${to.toLocaleString('en')} events (${Math.round(rate)} events/s)`);
        }
      }
    };
    await Promise.all(Array.from({ length: CALLS_IN_FLIGHT }, writer));
    store.database.pragma('wal_checkpoint(TRUNCATE)');
    return (Date.now() - started) / 1000;
  } finally {
    await store.close();
  }
}

/**
 * Returns the path of a cached trail of exactly `count` events, generating (or extending a
 * smaller cached trail) if needed. `log` receives progress lines.
 */
export async function ensureAuditTrail(count, { log = console.error, extendFrom } = {}) {
  const dir = dataDir('trails');
  const path = `${dir}/audit-${count}.db`;
  const manifest = manifestOf(path);
  if (manifest?.version === GENERATOR_VERSION && manifest.count === count && existsSync(path)) return { path, generatedSeconds: 0, cached: true };
  removeDb(path);
  let from = 0;
  if (extendFrom !== undefined && extendFrom < count) {
    const smaller = await ensureAuditTrail(extendFrom, { log });
    copyFileSync(smaller.path, path);
    from = extendFrom;
  }
  log(`  generating a trail of ${count.toLocaleString('en')} events${from > 0 ? ` (from the cached ${from.toLocaleString('en')})` : ''} under bench/.data/trails/ — done once, then reused`);
  const seconds = await append(path, from, count, log);
  writeFileSync(`${path}.json`, JSON.stringify({ version: GENERATOR_VERSION, count, t0: TRAIL_T0, stepMs: TRAIL_STEP_MS, generatedSeconds: seconds }));
  return { path, generatedSeconds: seconds, cached: false };
}
