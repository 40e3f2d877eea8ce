/**
 * A worker thread of `verifyStoredChain`: opens the store for itself, verifies one segment of
 * the chain, reports its count as it goes and answers with the segment's result. It only
 * reads; a failure to open or read is answered as an error, never as a verified chain.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { StoreConfig } from '../config/compiled.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import { verifySegment, type ChainSegment } from './audit.js';

const { store: config, segment } = workerData as { store: StoreConfig; segment: ChainSegment };
const port = parentPort;
if (port === null) throw new Error('audit-verify-worker runs only as a worker thread');

try {
  // The caller opened (and migrated) this store already; the worker only reads it.
  if (config.kind !== 'sqlite') throw new Error(`store.kind "${config.kind}" cannot be verified by worker threads`);
  const store = createSqliteStore({ path: config.path });
  try {
    const result = await verifySegment(store, segment, (count) => port.postMessage({ count }));
    port.postMessage({ result });
  } finally {
    await store.close();
  }
} catch (error) {
  port.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
