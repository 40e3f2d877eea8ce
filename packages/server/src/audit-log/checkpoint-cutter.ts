/**
 * Cuts signed checkpoints of the audit tree and publishes them to sinks outside the store.
 * Invariants: cutting runs on its own timer, off the request path (no request waits for a
 * signature); a checkpoint is cut only when the tree grew, once `everyEvents` events were
 * appended or `everyMs` passed, and at shutdown; a failing sink raises an alert and the others
 * still get the checkpoint; `status()` says how long no sink has accepted a newer tree, so the
 * gateway can refuse to execute while its trail is not being published; a tree that does not
 * extend the newest published checkpoint (a consistency proof fails) is never signed, and
 * `status().forked` says why, for good.
 */
import { createHmac } from 'node:crypto';
import { createMerkleFrontier, sameHash, verifyConsistency, type Clock, type MerkleHash } from '@portcullis/core';
import type { Store } from '../store/store.js';
import { signCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { appendCheckpointLog } from './checkpoint-log.js';
import { proveConsistency } from './proof.js';
import type { NoteSigner } from './signed-note.js';

/** Somewhere outside the store a checkpoint is published. */
export interface CheckpointSink {
  readonly name: string;
  /** Publishes; rejects when the sink did not accept it. */
  publish(checkpoint: SignedCheckpoint): Promise<void>;
}

/** The append-only checkpoint log file in `dir`. */
export function createFileSink(dir: string): CheckpointSink {
  return { name: `file ${dir}`, publish: async (checkpoint) => { appendCheckpointLog(dir, checkpoint); } };
}

/** Standard output (or any line writer), one JSON line per checkpoint, for log shipping. */
export function createStdoutSink(write: (line: string) => void): CheckpointSink {
  return { name: 'stdout', publish: async (checkpoint) => { write(JSON.stringify({ checkpoint: checkpoint.note })); } };
}

/**
 * An HTTP POST of the signed note (text/plain). With `secret`, the body is signed like the
 * webhooks: `X-Portcullis-Signature: sha256=<hex HMAC-SHA256 of the body>`.
 */
export function createHttpSink(url: string, secret?: string, fetchImpl: typeof fetch = fetch): CheckpointSink {
  return {
    name: `POST ${url}`,
    async publish(checkpoint) {
      const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
      if (secret !== undefined) headers['x-portcullis-signature'] = `sha256=${createHmac('sha256', secret).update(checkpoint.note).digest('hex')}`;
      const response = await fetchImpl(url, { method: 'POST', headers, body: checkpoint.note, signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    },
  };
}

/** Settings of a cutter. */
export interface CutterOptions {
  readonly store: Store;
  readonly signer: NoteSigner;
  readonly origin: string;
  readonly sinks: readonly CheckpointSink[];
  readonly clock: Clock;
  readonly everyEvents: number;
  readonly everyMs: number;
  /** Adds a witness's cosignature to a checkpoint before it is published (or returns it as it was). */
  readonly cosign?: (checkpoint: SignedCheckpoint) => Promise<SignedCheckpoint>;
  /** Told when a sink refuses a checkpoint (the others still get it). */
  readonly onAlert?: (sink: string, error: unknown) => void;
  /** Told once when the stored tree stops extending the newest published checkpoint (see `CutterStatus.forked`). */
  readonly onFork?: (problem: string) => void;
}

/** The cutter's state, for /readyz. */
export interface CutterStatus {
  /** The tree size of the newest checkpoint a sink accepted. */
  readonly publishedSize: number;
  /** Since when events have been waiting for a checkpoint some sink accepted (undefined: none waiting). */
  readonly unpublishedSince?: number;
  /** The last sink failure, if the newest checkpoint was not accepted by every sink. */
  readonly lastFailure?: string;
  /**
   * Why the cutter stopped signing, for good: the stored tree no longer extends the newest
   * published checkpoint (the store was edited under the running gateway). Nothing is signed
   * after it; the gateway executes nothing.
   */
  readonly forked?: string;
}

/** Cuts and publishes checkpoints; `poll()` is called by the gateway's timer (or a test). */
export interface CheckpointCutter {
  /** Cuts a checkpoint if the tree grew by `everyEvents`, or grew and `everyMs` passed. */
  poll(): Promise<SignedCheckpoint | undefined>;
  /** Cuts a checkpoint now if the tree grew (at shutdown). */
  cutNow(): Promise<SignedCheckpoint | undefined>;
  status(): CutterStatus;
  /** The newest checkpoint some sink accepted (or the newest published one the cutter started after). */
  latest(): SignedCheckpoint | undefined;
}

/** Creates a cutter starting after the checkpoint of `publishedSize` (0: none yet), `start` when it is known. */
export function createCheckpointCutter(options: CutterOptions, publishedSize = 0, start?: SignedCheckpoint): CheckpointCutter {
  let published = publishedSize;
  let latest = start;
  let lastCutAt = options.clock.now();
  let unpublishedSince: number | undefined;
  let lastFailure: string | undefined;
  let running: Promise<SignedCheckpoint | undefined> | undefined;
  let forked: string | undefined;

  /**
   * Why the stored tree (`size` events, `root`) does not extend the newest published checkpoint,
   * if it does not: an RFC 6962 consistency proof from the store's nodes and bodies, checked
   * against both roots (RFC 9162 2.1.4.2). A store edited under the running gateway and
   * re-hashed to match fails it, so its tree is never signed.
   */
  async function forkOf(size: number, root: MerkleHash): Promise<string | undefined> {
    if (latest === undefined) return undefined;
    const last = latest;
    const what = `the stored audit tree (${size} events) does not extend the newest published checkpoint (${last.size} events)`;
    if (size < last.size) return `${what}: it is shorter; events were deleted under the running gateway`;
    try {
      const proof = await proveConsistency(options.store, last.size, size);
      if (verifyConsistency(last.size, size, last.root, root, proof)) return undefined;
      return `${what}: its events before ${last.size + 1} were changed under the running gateway`;
    } catch (error) {
      return `${what}: ${(error as Error).message}`;
    }
  }

  async function cut(force: boolean): Promise<SignedCheckpoint | undefined> {
    if (forked !== undefined) return undefined;
    const tree = await options.store.auditTree();
    const frontier = createMerkleFrontier(tree.frontier);
    const now = options.clock.now();
    if (frontier.size <= published) {
      // Not grown: nothing to sign, but a tree cut back (or rewritten at the same size) under
      // the running gateway is a fork now, not once it has grown past the checkpoint again.
      const last = latest;
      if (last !== undefined && (frontier.size < last.size || !sameHash(frontier.root(), last.root))) {
        forked = await forkOf(frontier.size, frontier.root());
        if (forked !== undefined) {
          options.onFork?.(forked);
          return undefined;
        }
      }
      unpublishedSince = undefined;
      return undefined;
    }
    unpublishedSince ??= now;
    const due = force || frontier.size - published >= options.everyEvents || now - lastCutAt >= options.everyMs;
    if (!due) return undefined;
    forked = await forkOf(frontier.size, frontier.root());
    if (forked !== undefined) {
      options.onFork?.(forked);
      return undefined;
    }
    const signed = signCheckpoint({ origin: options.origin, size: frontier.size, root: frontier.root() }, options.signer);
    const checkpoint = options.cosign === undefined ? signed : await options.cosign(signed);
    lastCutAt = now;
    const results = await Promise.allSettled(options.sinks.map((sink) => sink.publish(checkpoint)));
    let accepted = false;
    lastFailure = undefined;
    results.forEach((result, i) => {
      const sink = options.sinks[i] as CheckpointSink;
      if (result.status === 'fulfilled') accepted = true;
      else {
        lastFailure = `${sink.name}: ${(result.reason as Error).message ?? String(result.reason)}`;
        options.onAlert?.(sink.name, result.reason);
      }
    });
    if (accepted) { published = checkpoint.size; latest = checkpoint; unpublishedSince = undefined; }
    return checkpoint;
  }

  // One cut at a time: a timer tick during a slow sink waits for it rather than signing twice.
  const serial = (force: boolean): Promise<SignedCheckpoint | undefined> => {
    const next = (running ?? Promise.resolve(undefined)).catch(() => undefined).then(() => cut(force));
    running = next;
    return next;
  };
  return {
    poll: () => serial(false),
    cutNow: () => serial(true),
    latest: () => latest,
    status: () => ({ publishedSize: published, ...(unpublishedSince === undefined ? {} : { unpublishedSince }), ...(lastFailure === undefined ? {} : { lastFailure }), ...(forked === undefined ? {} : { forked }) }),
  };
}
