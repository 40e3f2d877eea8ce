/**
 * A worker thread of `verifyStoredTrail`: opens the store for itself, rebuilds one part of the
 * trail's tree (audit-log/tree-verify.ts `rebuildSegment`), reports its count as it goes and
 * answers with the part's result. It only reads; a failure to open or read is answered as an
 * error, never as a verified part.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StoreConfig } from '../config/compiled.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { rebuildSegment, type TreeSegment } from '../audit-log/tree-verify.js';

const { store: config, segment } = workerData as { store: StoreConfig; segment: TreeSegment };
const port = parentPort;
if (port === null) throw new Error('audit-verify-worker runs only as a worker thread');

try {
  // The caller opened (and migrated) this store already; the worker only reads it.
  if (config.kind !== 'sqlite') throw new Error(`store.kind "${config.kind}" cannot be verified by worker threads`);
  const store = createSqliteStore({ path: config.path });
  try {
    const result = await rebuildSegment(store, segment, (count) => port.postMessage({ count }));
    port.postMessage({ result });
  } finally {
    await store.close();
  }
} catch (error) {
  port.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
