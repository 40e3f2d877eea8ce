/**
 * Publishing the audit trail's signed checkpoints while the gateway runs, and refusing to
 * execute when the trail cannot be vouched for. Invariants: at start, the store is checked
 * against the newest checkpoint of the gateway's own checkpoint log; if it disagrees (shorter,
 * or another root), nothing executes, /readyz says why, and no checkpoint is cut (signing a
 * rewritten trail would launder it) until an admin runs `portcullis audit recover`, which is
 * itself audited. While no sink has accepted a checkpoint of newer events for longer than
 * `maxLag`, executions are refused too, until one does. Reads never stop.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisError, type Actor, type Clock } from '@portcullis/core';
import type { CheckpointsConfig } from '../config/compiled.js';
import type { Store } from '../store/store.js';
import type { SignedCheckpoint } from '../audit-log/checkpoint.js';
import { CHECKPOINT_LOG_FILE, appendCheckpointLog, readCheckpointLog } from '../audit-log/checkpoint-log.js';
import { createCheckpointCutter, createFileSink, createHttpSink, createStdoutSink, type CheckpointCutter, type CheckpointSink } from '../audit-log/checkpoint-cutter.js';
import { parseNoteVerifier, type NoteSigner, type NoteVerifier } from '../audit-log/signed-note.js';
import { proveConsistency } from '../audit-log/proof.js';
import { parseWitnessKey, requestCosignature, type WitnessKey } from '../audit-log/witness.js';
import { parseSigningKey, readSigningKeyFile } from '../audit-log/signing-key.js';
import { verifyTrailAgainstCheckpoints } from '../audit-log/tree-verify.js';
import { cutCheckpoint, whyNotExtendingLog } from './audit-checkpoints.js';

/** The environment variable the signing key may come from (read by the config module). */
const SIGNING_KEY_SOURCE = 'PORTCULLIS_AUDIT_SIGNING_KEY';

/**
 * The checkpoint signing key the settings name: the environment's, else the key file's.
 * @throws PortcullisError CONFIG_INVALID when there is none, or it is malformed or readable by others.
 */
export function loadSigningKey(settings: CheckpointsConfig): NoteSigner {
  const read = settings.envKey !== undefined
    ? parseSigningKey(settings.envKey, SIGNING_KEY_SOURCE)
    : settings.keyFile !== undefined ? readSigningKeyFile(settings.keyFile)
      : { ok: false as const, problem: `audit.checkpoints needs a signing key: set ${SIGNING_KEY_SOURCE} or audit.checkpoints.keyFile (make one with \`portcullis audit new-key\`)` };
  if (!read.ok) throw new PortcullisError('CONFIG_INVALID', read.problem);
  if (read.key.name !== settings.origin) {
    throw new PortcullisError('CONFIG_INVALID', `the signing key is named "${read.key.name}" but audit.checkpoints.origin is "${settings.origin}"; make them the same`);
  }
  return read.key;
}

/**
 * The keys the checkpoint log is read with: the signing key's own, and the earlier keys of a
 * rotation (`audit.checkpoints.previousKeys`), each told apart by its key id.
 * @throws PortcullisError CONFIG_INVALID naming a previous key that is not a public key.
 */
export function logVerifiers(settings: CheckpointsConfig, signer: NoteSigner): NoteVerifier[] {
  return [signer.verifier, ...settings.previousKeys.map((text, i) => {
    try {
      return parseNoteVerifier(text, `audit.checkpoints.previousKeys[${i}]`);
    } catch (error) {
      throw new PortcullisError('CONFIG_INVALID', `${(error as Error).message}; give the public key as \`portcullis audit new-key\` printed it`);
    }
  })];
}

/** The running publisher. */
export interface AuditPublishing {
  /** Why executions are refused now, if they are. */
  gate(): string | undefined;
  /** Called by the gateway's timer: cuts a checkpoint when one is due. */
  poll(): Promise<void>;
  /** At shutdown: cuts a last checkpoint if the trail grew. */
  close(): Promise<void>;
  /** The store's disagreement with the newest checkpoint found at start, if any. */
  readonly startProblem: string | undefined;
  /** The newest checkpoint published (read from the log at start, or cut since), which proofs lead to. */
  latest(): SignedCheckpoint | undefined;
}

/** Options of the publisher. */
export interface AuditPublishingOptions {
  readonly store: Store;
  readonly settings: CheckpointsConfig;
  readonly clock: Clock;
  readonly signer: NoteSigner;
  /** Where the stdout sink writes. */
  readonly stdout: (line: string) => void;
  /** Told when a sink fails (an alert) or the store disagrees with its checkpoint. */
  readonly warn: (message: string) => void;
  /** Extra sinks (tests). */
  readonly sinks?: readonly CheckpointSink[];
}

/** Checks the store against the newest published checkpoint and starts publishing. */
export async function startAuditPublishing(options: AuditPublishingOptions): Promise<AuditPublishing> {
  const { store, settings, clock, signer } = options;
  let startProblem: string | undefined;
  let publishedSize = 0;
  let published: SignedCheckpoint | undefined;
  const verifiers = logVerifiers(settings, signer);
  if (existsSync(join(settings.dir, CHECKPOINT_LOG_FILE))) {
    const read = readCheckpointLog(settings.dir, verifiers);
    if (!read.ok) startProblem = `the checkpoint log cannot be trusted: ${read.problem}; run \`portcullis audit recover\` once investigated (docs/audit.md)`;
    else {
      // The checkpoint written last, not the largest: after `audit recover` accepted a restored
      // backup, its checkpoint is the newest published though older ones are larger.
      const newest = read.last;
      const check = await verifyTrailAgainstCheckpoints(store, [newest]);
      if (check.ok) { publishedSize = newest.size; published = newest; }
      else {
        startProblem = `the audit store disagrees with the newest published checkpoint (${newest.size} events): ${check.problem}`;
        // An uncovered purge says itself what settles it (a signed checkpoint).
        if (check.uncoveredPurge !== true) {
          startProblem += check.checkpoint === undefined
            ? '; the store itself is broken: restore it from a backup taken before the break, then run `portcullis audit recover` (docs/audit.md)'
            : '; run `portcullis audit recover` once investigated (docs/audit.md)';
        }
      }
    }
  }
  if (startProblem !== undefined) options.warn(startProblem);
  const sinks: CheckpointSink[] = [createFileSink(settings.dir), ...(settings.stdout ? [createStdoutSink(options.stdout)] : []), ...(settings.url === undefined ? [] : [createHttpSink(settings.url)]), ...(options.sinks ?? [])];
  const cosign = settings.witness === undefined ? undefined : witnessCosigner(store, settings.witness, publishedSize, options.warn);
  const cutter: CheckpointCutter = createCheckpointCutter({
    store, signer, origin: settings.origin, sinks, clock, everyEvents: settings.everyEvents, everyMs: settings.everyMs,
    ...(cosign === undefined ? {} : { cosign }),
    onAlert: (sink, error) => options.warn(`audit checkpoint sink ${sink} failed: ${(error as Error).message ?? String(error)}; the other sinks still got it`),
    onFork: (problem) => options.warn(`${problem}; no checkpoint is signed and nothing executes until it is resolved (docs/audit.md)`),
  }, publishedSize, published);
  if (startProblem === undefined && published === undefined) await signUpgradedTrail(store, cutter, signer, clock);
  return {
    startProblem,
    latest: () => (startProblem === undefined ? cutter.latest() : undefined),
    gate() {
      if (startProblem !== undefined) return startProblem;
      const status = cutter.status();
      if (status.forked !== undefined) return `${status.forked}; nothing is signed or executed until it is resolved: run \`portcullis audit verify --checkpoints LOG --key PUBLIC_KEY\`, restore a backup if it fails, then \`portcullis audit recover\` (docs/audit.md)`;
      if (status.unpublishedSince !== undefined && clock.now() - status.unpublishedSince > settings.maxLagMs) {
        return `no checkpoint sink has accepted a checkpoint of the newest audit events for ${Math.round((clock.now() - status.unpublishedSince) / 1000)}s (more than ${Math.round(settings.maxLagMs / 1000)}s)${status.lastFailure === undefined ? '' : `; last failure: ${status.lastFailure}`}`;
      }
      return undefined;
    },
    async poll() {
      if (startProblem === undefined) await cutter.poll();
    },
    async close() {
      if (startProblem === undefined) await cutter.cutNow();
    },
  };
}

/**
 * Asks the configured C2SP tlog-witness to cosign each checkpoint, with the consistency proof
 * from the newest size it cosigned (learned from a 409 when unknown). A witness that fails is
 * alerted on, and the checkpoint goes out without its cosignature.
 * @throws PortcullisError CONFIG_INVALID for a malformed witness key.
 */
function witnessCosigner(store: Store, witness: { url: string; key: string }, startSize: number, warn: (message: string) => void): (checkpoint: SignedCheckpoint) => Promise<SignedCheckpoint> {
  let key: WitnessKey;
  try {
    key = parseWitnessKey(witness.key, 'audit.checkpoints.witness.key');
  } catch (error) {
    throw new PortcullisError('CONFIG_INVALID', `${(error as Error).message}; give the witness's public key as its operator publishes it`);
  }
  let witnessSize = startSize;
  return async (checkpoint) => {
    let cosigned: Awaited<ReturnType<typeof requestCosignature>>;
    try {
      cosigned = await requestCosignature({ url: witness.url, key, checkpoint, oldSize: witnessSize, consistency: (old) => proveConsistency(store, old, checkpoint.size) });
    } catch (error) {
      cosigned = { ok: false, problem: `no consistency proof could be made: ${(error as Error).message}` };
    }
    if (!cosigned.ok) {
      warn(`audit witness gave no cosignature of the checkpoint of ${checkpoint.size} events: ${cosigned.problem}; it is published without one`);
      return checkpoint;
    }
    witnessSize = checkpoint.size;
    return cosigned.checkpoint;
  };
}

/**
 * The first start with a signing key of a store whose trail began under the old hash chain
 * (verified link by link when the store was migrated, then built into the tree), with no
 * checkpoint published yet: signs and publishes the tree over the migrated trail at once, and
 * records `audit.upgraded` naming that checkpoint (covered by the next one). Nothing when the
 * trail began with the tree, or when no sink accepted the checkpoint (the lag gate then applies).
 */
async function signUpgradedTrail(store: Store, cutter: CheckpointCutter, signer: NoteSigner, clock: Clock): Promise<void> {
  const tree = await store.auditTree();
  if (tree.chainThrough === 0) return;
  const checkpoint = await cutter.cutNow();
  if (checkpoint === undefined || cutter.latest() !== checkpoint) return;
  await store.appendAudit([{
    type: 'audit.upgraded', at: clock.now(), actor: { kind: 'system', id: 'gateway' },
    data: {
      chainThrough: tree.chainThrough, treeSize: checkpoint.size, treeRoot: Buffer.from(checkpoint.root).toString('base64'),
      origin: checkpoint.origin, keyId: signer.verifier.text.split('+')[1] ?? '',
    },
  }]);
}

/**
 * The documented recovery when the store disagrees with the newest published checkpoint (a
 * restored backup an admin accepts as the trail from now on): records `audit.recovered` with
 * the reason, what disagreed and who ran it, then signs the store's tree and appends it to the
 * checkpoint log, so the gateway starts again. The older checkpoints stay published: a verify
 * against the whole log still shows the break, and this event explains it.
 * @throws PortcullisError CONFIG_INVALID for a missing or bad signing key; INVALID_REQUEST when the store agrees (nothing to recover).
 */
/**
 * Signs the store's tree with the configured key and appends it to the checkpoint log in
 * `settings.dir`, as the gateway would: after a purge run offline, so the purge it records is
 * covered by a published checkpoint before the gateway next starts (it refuses to otherwise).
 * @returns the checkpoint's tree size.
 * @throws PortcullisError CONFIG_INVALID for a bad signing key; STORE_UNAVAILABLE when the store does not extend the log's newest checkpoint (nothing is signed).
 */
export async function publishAfterPurge(store: Store, settings: CheckpointsConfig): Promise<number> {
  const signer = loadSigningKey(settings);
  // A store rewritten before the purge is not signed into the log as its continuation.
  const rewritten = await whyNotExtendingLog(store, signer, settings.dir);
  if (rewritten !== undefined) throw new PortcullisError('STORE_UNAVAILABLE', rewritten);
  const checkpoint = await cutCheckpoint(store, signer, settings.origin);
  appendCheckpointLog(settings.dir, checkpoint);
  return checkpoint.size;
}

export async function recoverAuditTrail(store: Store, settings: CheckpointsConfig, clock: Clock, actor: Actor, reason: string): Promise<{ size: number; problem: string }> {
  const signer = loadSigningKey(settings);
  let problem: string | undefined;
  if (existsSync(join(settings.dir, CHECKPOINT_LOG_FILE))) {
    const read = readCheckpointLog(settings.dir, logVerifiers(settings, signer));
    if (!read.ok) problem = read.problem;
    else {
      const newest = read.last;
      const check = await verifyTrailAgainstCheckpoints(store, [newest]);
      // A break inside the store (an event that no longer matches its own leaf hash, a gap) stays a
      // break under any new checkpoint: only a tree that differs from the log's can be accepted.
      if (!check.ok && check.checkpoint === undefined) {
        throw new PortcullisError('INVALID_REQUEST', `the store itself is broken, not only different from the published checkpoints: ${check.problem}; a new checkpoint cannot settle that (every start and \`audit verify\` would still find it). Restore the store from a backup taken before the break, then run \`portcullis audit recover\` to accept that backup; nothing was changed`);
      }
      if (!check.ok) problem = check.problem;
    }
  }
  if (problem === undefined) throw new PortcullisError('INVALID_REQUEST', 'the audit store agrees with the newest published checkpoint: there is nothing to recover');
  const now = clock.now();
  await store.appendAudit([{ type: 'audit.recovered', at: now, actor, data: { reason, problem } }]);
  const checkpoint = await cutCheckpoint(store, signer, settings.origin);
  appendCheckpointLog(settings.dir, checkpoint);
  return { size: checkpoint.size, problem };
}
