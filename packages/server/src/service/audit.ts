/**
 * Audit use cases shared by the API and the CLI: verifying the stored trail. Invariant: the
 * trail is verified by rebuilding its RFC 6962 Merkle tree from the event bodies and comparing
 * it with the stored tree and head (audit-log/tree-verify.ts); the answer is the same however
 * the rebuild is split: parts start at aligned leaves, so their subtrees join into exactly the
 * tree one thread builds, and the first problem in trail order is the one reported.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { StoreConfig } from '../config/compiled.js';
import type { Store, StoredAuditEvent } from '../store/store.js';
import { proveEvent, ProofUnavailable, type AuditInclusionProof } from '../audit-log/proof.js';
import type { ServiceDeps } from './deps.js';
import type { SignedCheckpoint } from '../audit-log/checkpoint.js';
import { verifyTrail, type TreeSegment, type TreeSegmentResult, type TreeVerification } from '../audit-log/tree-verify.js';

export type { TreeVerification };

/** Below this many events per worker, starting workers costs more than it saves. */
const MIN_EVENTS_PER_WORKER = 50_000;
/** The most worker threads `audit verify` starts. */
export const MAX_WORKERS = 8;
/**
 * A worker reads its part in pages of 5,000 bodies, each page live while it is hashed: a young
 * generation larger than a worker's default is scavenged less often (garbage collection was
 * about 11% of a worker's time in profiles, 8% with this).
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 64 };
/** The worker's file beside this module: the built .js, or the .ts when running from the sources (tests). */
const WORKER_URL = new URL(`./audit-verify-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** How verification may use worker threads. */
export interface ParallelVerify {
  /** The store's config, which each worker opens for itself. */
  readonly store: StoreConfig;
  /** How many workers; `undefined` picks by the machine's cores and the trail's length. */
  readonly workers?: number;
  /** Told how many events will be verified by how many worker threads, when more than one. */
  readonly onSplit?: (events: number, workers: number) => void;
}

/** The number of workers to use for a trail of `events` events. */
function workerCount(events: number, requested: number | undefined): number {
  if (requested !== undefined) return Math.max(1, Math.min(requested, MAX_WORKERS, events));
  return Math.max(1, Math.min(availableParallelism(), MAX_WORKERS, Math.floor(events / MIN_EVENTS_PER_WORKER)));
}

/**
 * Verifies the store's trail from its first stored event to its recorded head: the tree
 * rebuilt from the bodies must be the stored tree, every event's stored leaf hash (or legacy
 * chain link) and columns must match its body. With `parallel`, a long SQLite trail is rebuilt
 * in aligned parts by worker threads at once. `onProgress` is called with the count verified,
 * every 100,000 events. With `checkpoints` (signatures already checked), the trail is also
 * checked against each one and every purge must be anchored by one.
 */
export async function verifyStoredTrail(store: Store, onProgress?: (verified: number) => void, parallel?: ParallelVerify, checkpoints?: readonly SignedCheckpoint[]): Promise<TreeVerification> {
  const against = checkpoints === undefined ? {} : { checkpoints };
  if (parallel === undefined || parallel.store.kind !== 'sqlite') return verifyTrail(store, { onProgress, ...against });
  const config = parallel.store;
  return verifyTrail(store, {
    onProgress,
    ...against,
    parallel: {
      parts: (events) => workerCount(events, parallel.workers),
      run: (segment, onCount) => runWorker(config, segment, onCount),
      onSplit: parallel.onSplit,
    },
  });
}

/**
 * Starts a worker. From the sources (the CLI run through tsx, as tests run it), the thread
 * registers tsx's loader itself before it imports the worker: Node 20 neither runs an
 * `--import` in a worker's `execArgv` nor passes the main thread's loader hooks on, and tsx
 * reads the same TSX_TSCONFIG_PATH as in the main thread. The build never takes this branch
 * (tsx is a development dependency).
 */
function startWorker(workerData: { store: StoreConfig; segment: TreeSegment }): Worker {
  if (!WORKER_URL.pathname.endsWith('.ts')) return new Worker(WORKER_URL, { workerData, resourceLimits: WORKER_LIMITS });
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true, workerData, resourceLimits: WORKER_LIMITS });
}

function runWorker(store: StoreConfig, segment: TreeSegment, onCount: (verified: number) => void): Promise<TreeSegmentResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker({ store, segment });
    let settled = false;
    worker.on('message', (message: { count: number } | { result: TreeSegmentResult } | { error: string }) => {
      if ('count' in message) onCount(message.count);
      else if ('result' in message) { settled = true; resolve(message.result); }
      else { settled = true; reject(new Error(message.error)); }
    });
    worker.on('error', (error) => { settled = true; reject(error); });
    worker.on('exit', (code) => { if (!settled) reject(new Error(`the audit verify worker stopped (exit code ${code}) before it answered`)); });
  });
}

/** An event's inclusion proof (a document `portcullis audit check-proof` accepts), or why there is none. */
export type EventProof = { readonly proof: AuditInclusionProof } | { readonly unavailable: string };

/**
 * The inclusion proof of each event against the newest published signed checkpoint: O(log n)
 * reads each (audit-log/proof.ts). An event the checkpoint does not cover yet, or a trail that
 * does not lead to its root, gets the reason instead; nothing is thrown for them.
 */
export async function proveAuditEvents(deps: Pick<ServiceDeps, 'store' | 'latestCheckpoint'>, events: readonly StoredAuditEvent[]): Promise<Map<number, EventProof>> {
  const proofs = new Map<number, EventProof>();
  const checkpoint = deps.latestCheckpoint?.();
  for (const event of events) {
    if (deps.latestCheckpoint === undefined) { proofs.set(event.seq, { unavailable: 'signed checkpoints are not configured (audit.checkpoints)' }); continue; }
    if (checkpoint === undefined) { proofs.set(event.seq, { unavailable: 'no signed checkpoint has been published yet' }); continue; }
    try {
      proofs.set(event.seq, { proof: await proveEvent(deps.store, event.seq, checkpoint) });
    } catch (error) {
      if (!(error instanceof ProofUnavailable)) throw error;
      proofs.set(event.seq, { unavailable: error.message });
    }
  }
  return proofs;
}
