/**
 * Audit use cases shared by the API and the CLI: verifying the stored chain. Invariant: the
 * answer is the same however the chain is split: each event's hash is recomputed from its
 * previous event's hash and its own body, and a part verified apart starts from the stored
 * hash of the event just before it, which the part before verifies as its last event; so the
 * first break found in chain order is the one reported, and the counts add up.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createChainVerifier, type ChainAnchor, type ChainVerification } from '@portcullis/core';
import type { StoreConfig } from '../config/compiled.js';
import type { Store } from '../store/store.js';

const PAGE = 5000;
const PROGRESS_EVERY = 100_000;
/** Below this many events per worker, starting workers costs more than it saves. */
const MIN_EVENTS_PER_WORKER = 50_000;
/** The most worker threads `audit verify` starts. */
export const MAX_WORKERS = 8;
/** The worker's file beside this module: the built .js, or the .ts when running from the sources (tests). */
const WORKER_URL = new URL(`./audit-verify-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** One contiguous part of the chain to verify. */
export interface ChainSegment {
  /** Verify the events after this one. */
  readonly afterSeq: number;
  /** …through this one. */
  readonly throughSeq: number;
  /** The anchor to start from; when absent, the stored event `afterSeq` is read and its hash used. */
  readonly anchor?: ChainAnchor;
  /** The separately recorded head, for the last segment only. */
  readonly head?: ChainAnchor;
}

/**
 * Verifies one segment of the store's chain. A segment that does not reach `throughSeq`
 * reports the first missing event, as the whole chain's verification would.
 */
export async function verifySegment(store: Store, segment: ChainSegment, onCount?: (verified: number) => void): Promise<ChainVerification> {
  let anchor = segment.anchor;
  if (anchor === undefined) {
    const [first] = (await firstPage(store, segment.afterSeq - 1, segment.afterSeq)) ?? [];
    if (first?.seq !== segment.afterSeq) {
      return { ok: false, count: 0, break: { seq: segment.afterSeq, problem: `event ${segment.afterSeq} is missing` } };
    }
    anchor = { seq: first.seq, hash: first.hash };
  }
  const verifier = createChainVerifier(anchor);
  let seen = 0;
  pages: for await (const page of store.readAuditChain(PAGE, { afterSeq: segment.afterSeq, throughSeq: segment.throughSeq })) {
    for (const event of page) if (verifier.push(event) !== undefined) break pages;
    seen += page.length;
    onCount?.(seen);
  }
  const result = verifier.finish(segment.head);
  if (result.ok && segment.head === undefined && result.last.seq < segment.throughSeq) {
    const next = result.last.seq + 1;
    return { ok: false, count: result.count, break: { seq: next, problem: `event ${next} is missing` } };
  }
  return result;
}

async function firstPage(store: Store, afterSeq: number, throughSeq: number) {
  for await (const page of store.readAuditChain(1, { afterSeq, throughSeq })) return page;
  return undefined;
}

/** How verification may use worker threads. */
export interface ParallelVerify {
  /** The store's config, which each worker opens for itself. */
  readonly store: StoreConfig;
  /** How many workers; `undefined` picks by the machine's cores and the chain's length. */
  readonly workers?: number;
  /** Told how many events will be verified by how many worker threads, when more than one. */
  readonly onSplit?: (events: number, workers: number) => void;
}

/** The number of workers to use for a chain of `events` events. */
function workerCount(events: number, requested: number | undefined): number {
  if (requested !== undefined) return Math.max(1, Math.min(requested, MAX_WORKERS, events));
  return Math.max(1, Math.min(availableParallelism(), MAX_WORKERS, Math.floor(events / MIN_EVENTS_PER_WORKER)));
}

/**
 * Verifies the store's chain from its anchor (genesis or the last retention checkpoint) to
 * its recorded head, streaming in pages. With `parallel`, a long chain is split into
 * contiguous segments verified by worker threads at once. `onProgress` is called with the
 * count verified, every 100,000 events.
 */
export async function verifyStoredChain(store: Store, onProgress?: (verified: number) => void, parallel?: ParallelVerify): Promise<ChainVerification> {
  const result = await verifyChainOnly(store, onProgress, parallel);
  if (!result.ok) return result;
  // The columns queries filter on must say what the hashed body says.
  const column = await store.findAuditColumnMismatch();
  if (column === undefined) return result;
  return { ok: false, count: result.count, break: { seq: column.seq, problem: `event ${column.seq}'s stored ${column.column} column does not match its hashed body: queries filtering on ${column.column} would show it wrongly` } };
}

async function verifyChainOnly(store: Store, onProgress?: (verified: number) => void, parallel?: ParallelVerify): Promise<ChainVerification> {
  const [anchor, head] = await Promise.all([store.auditAnchor(), store.auditHead()]);
  const total = Math.max(0, head.seq - anchor.seq);
  const workers = parallel === undefined || parallel.store.kind !== 'sqlite' ? 1 : workerCount(total, parallel.workers);
  const progress = progressReporter(onProgress);
  if (workers <= 1 || parallel === undefined) {
    return verifySegment(store, { afterSeq: anchor.seq, throughSeq: head.seq, anchor, head }, (n) => progress(0, n));
  }
  parallel.onSplit?.(total, workers);
  const size = Math.ceil(total / workers);
  const segments: ChainSegment[] = [];
  for (let from = anchor.seq; from < head.seq; from += size) {
    const through = Math.min(from + size, head.seq);
    segments.push({ afterSeq: from, throughSeq: through, ...(from === anchor.seq ? { anchor } : {}), ...(through === head.seq ? { head } : {}) });
  }
  const results = await Promise.all(segments.map((segment, i) => runWorker(parallel.store, segment, (n) => progress(i, n))));
  return combine(results);
}

/** Reports progress summed over segments, each time the total crosses a multiple of 100,000. */
function progressReporter(onProgress: ((verified: number) => void) | undefined): (segment: number, count: number) => void {
  const counts: number[] = [];
  let reported = 0;
  return (segment, count) => {
    if (onProgress === undefined) return;
    counts[segment] = count;
    const sum = counts.reduce((a, b) => a + (b ?? 0), 0);
    const mark = Math.floor(sum / PROGRESS_EVERY) * PROGRESS_EVERY;
    if (mark > reported) {
      reported = mark;
      onProgress(mark);
    }
  };
}

/** The whole chain's result from its segments' results, in chain order: the first break wins. */
function combine(results: readonly ChainVerification[]): ChainVerification {
  let count = 0;
  let last: ChainAnchor | undefined;
  for (const result of results) {
    count += result.count;
    if (!result.ok) return { ok: false, count, break: result.break };
    last = result.last;
  }
  if (last === undefined) throw new Error('combine needs at least one segment');
  return { ok: true, count, last };
}

/**
 * Starts a worker. From the sources (the CLI run through tsx, as tests run it), the thread
 * registers tsx's loader itself before it imports the worker: Node 20 neither runs an
 * `--import` in a worker's `execArgv` nor passes the main thread's loader hooks on, and tsx
 * reads the same TSX_TSCONFIG_PATH as in the main thread. The build never takes this branch
 * (tsx is a development dependency).
 */
function startWorker(workerData: { store: StoreConfig; segment: ChainSegment }): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData });
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

function runWorker(store: StoreConfig, segment: ChainSegment, onCount: (verified: number) => void): Promise<ChainVerification> {
  return new Promise((resolve, reject) => {
    const worker = startWorker({ store, segment });
    let settled = false;
    worker.on('message', (message: { count: number } | { result: ChainVerification } | { error: string }) => {
      if ('count' in message) onCount(message.count);
      else if ('result' in message) { settled = true; resolve(message.result); }
      else { settled = true; reject(new Error(message.error)); }
    });
    worker.on('error', (error) => { settled = true; reject(error); });
    worker.on('exit', (code) => { if (!settled) reject(new Error(`the audit verify worker stopped (exit code ${code}) before it answered`)); });
  });
}
