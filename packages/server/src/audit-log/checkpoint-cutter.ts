/**
 * Cuts signed checkpoints of the audit tree and publishes them to sinks outside the store.
 * Invariants: cutting runs on its own timer, off the request path (no request waits for a
 * signature); a checkpoint is cut only when the tree grew, once `everyEvents` events were
 * appended or `everyMs` passed, and at shutdown; a failing sink raises an alert and the others
 * still get the checkpoint; `status()` says how long no sink has accepted a newer tree, so the
 * gateway can refuse to execute while its trail is not being published.
 */
import { createHmac } from 'node:crypto';
import { createMerkleFrontier, type Clock } from '@portcullis/core';
import type { Store } from '../store/store.js';
import { signCheckpoint, type SignedCheckpoint } from './checkpoint.js';
import { appendCheckpointLog } from './checkpoint-log.js';
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
}

/** The cutter's state, for /readyz. */
export interface CutterStatus {
  /** The tree size of the newest checkpoint a sink accepted. */
  readonly publishedSize: number;
  /** Since when events have been waiting for a checkpoint some sink accepted (undefined: none waiting). */
  readonly unpublishedSince?: number;
  /** The last sink failure, if the newest checkpoint was not accepted by every sink. */
  readonly lastFailure?: string;
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

  async function cut(force: boolean): Promise<SignedCheckpoint | undefined> {
    const tree = await options.store.auditTree();
    const frontier = createMerkleFrontier(tree.frontier);
    const now = options.clock.now();
    if (frontier.size <= published) { unpublishedSince = undefined; return undefined; }
    unpublishedSince ??= now;
    const due = force || frontier.size - published >= options.everyEvents || now - lastCutAt >= options.everyMs;
    if (!due) return undefined;
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
    status: () => ({ publishedSize: published, ...(unpublishedSince === undefined ? {} : { unpublishedSince }), ...(lastFailure === undefined ? {} : { lastFailure }) }),
  };
}
