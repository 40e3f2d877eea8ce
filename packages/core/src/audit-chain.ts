/**
 * The audit chain. Invariant: each event's hash is SHA-256 over the previous event's hash
 * and the event's canonical body, and sequence numbers are contiguous from the anchor; so
 * editing any byte of an event, deleting one, or reordering them breaks verification at
 * the first affected event. The body is canonical JSON, so it hashes the same wherever it
 * is recomputed.
 */
import { canonicalJson, type JsonValue } from './canonical-json.js';
import { sha256Hex } from './hash.js';

/** The version of the persisted event format. */
export const AUDIT_FORMAT_VERSION = 1;

/** The hash before the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export const AUDIT_EVENT_TYPES = [
  'gateway.started', 'config.loaded',
  'proposal.received', 'proposal.decided', 'proposal.expired', 'proposal.cancelled', 'request.invalid', 'request.refused',
  'approval.granted', 'approval.rejected', 'approval.refused',
  'execution.started', 'execution.succeeded', 'execution.failed', 'execution.refused', 'execution.outcome_unknown', 'outcome.resolved',
  'audit.purged', 'audit.recovered',
  'run.started', 'run.refused',
  'vault.secret_set', 'vault.key_rotated',
  'mcp.tools_listed', 'mcp.tool_blocked', 'mcp.tools_pinned', 'mcp.upstream_failed',
  'alert.raised',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const ACTOR_KINDS = ['agent', 'person', 'system'] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** Who caused an event. */
export interface Actor {
  readonly kind: ActorKind;
  readonly id: string;
}

/** An event before it is sealed into the chain. `at` is milliseconds since the epoch. */
export interface AuditEventDraft {
  readonly type: AuditEventType;
  readonly at: number;
  readonly actor: Actor;
  readonly workflow?: string;
  readonly proposalId?: string;
  readonly data: { readonly [key: string]: JsonValue };
}

/** A sealed event: its canonical body and its place in the chain. */
export interface SealedAuditEvent {
  readonly seq: number;
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** A parsed event body. */
export interface AuditEvent extends AuditEventDraft {
  readonly v: number;
  readonly seq: number;
}

/** Where a chain starts: the genesis, or the last event removed by a retention purge. */
export interface ChainAnchor {
  readonly seq: number;
  readonly hash: string;
}

export const GENESIS_ANCHOR: ChainAnchor = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** Seals a draft as event `seq` after `prevHash`. */
export function sealAuditEvent(draft: AuditEventDraft, seq: number, prevHash: string): SealedAuditEvent {
  const body = canonicalJson({
    v: AUDIT_FORMAT_VERSION, seq, at: draft.at, type: draft.type, actor: draft.actor,
    workflow: draft.workflow, proposalId: draft.proposalId, data: draft.data,
  });
  return { seq, body, prevHash, hash: chainHash(prevHash, body) };
}

/** The hash of a body chained after `prevHash`. */
export function chainHash(prevHash: string, body: string): string {
  return sha256Hex(`${prevHash}\n${body}`);
}

/** The first problem verification found. */
export interface ChainBreak {
  readonly seq: number;
  readonly problem: string;
}

/** Result of verifying a chain. */
export type ChainVerification =
  | { readonly ok: true; readonly count: number; readonly last: ChainAnchor }
  | { readonly ok: false; readonly count: number; readonly break: ChainBreak };

/** Verifies a chain one event at a time, so a long trail streams through in constant memory. */
export interface ChainVerifier {
  /** Checks the next event; returns the break if it is the first bad one (then stop pushing). */
  push(event: SealedAuditEvent): ChainBreak | undefined;
  /** Ends verification, comparing the last event with the separately recorded head, if given. */
  finish(head?: ChainAnchor): ChainVerification;
}

/** Starts verifying a chain from `anchor`. */
export function createChainVerifier(anchor: ChainAnchor = GENESIS_ANCHOR): ChainVerifier {
  let expectedSeq = anchor.seq + 1;
  let prevHash = anchor.hash;
  let count = 0;
  let broken: ChainBreak | undefined;
  const fail = (seq: number, problem: string): ChainBreak => (broken = { seq, problem });
  return {
    push(event) {
      if (broken !== undefined) return broken;
      if (event.seq !== expectedSeq) {
        return fail(expectedSeq, event.seq > expectedSeq
          ? `event ${expectedSeq}${event.seq - expectedSeq > 1 ? `–${event.seq - 1}` : ''} is missing (the next event present is ${event.seq})`
          : `event ${event.seq} appears out of order (expected ${expectedSeq})`);
      }
      if (event.prevHash !== prevHash) return fail(event.seq, `event ${event.seq} does not link to event ${event.seq - 1}: its previous-hash was changed`);
      if (chainHash(prevHash, event.body) !== event.hash) return fail(event.seq, `event ${event.seq} was edited: its content no longer matches its hash`);
      if (!bodyHasSeq(event.body, event.seq)) return fail(event.seq, `event ${event.seq} was edited: its sequence number does not match its content`);
      prevHash = event.hash;
      expectedSeq += 1;
      count += 1;
      return undefined;
    },
    finish(head) {
      if (broken !== undefined) return { ok: false, count, break: broken };
      const last = { seq: expectedSeq - 1, hash: prevHash };
      if (head !== undefined && (head.seq !== last.seq || head.hash !== last.hash)) {
        const problem = head.seq > last.seq
          ? `event ${last.seq + 1}${head.seq - last.seq > 1 ? `–${head.seq}` : ''} is missing: the chain ends at ${last.seq} but its recorded head is ${head.seq}`
          : `the chain's recorded head (${head.seq}) does not match its last event (${last.seq})`;
        return { ok: false, count, break: { seq: last.seq + 1, problem } };
      }
      return { ok: true, count, last };
    },
  };
}

/**
 * Verifies events in sequence order from `anchor`. `head`, when given, is the chain head the
 * store recorded separately, so deleting the newest events is detected too. Stops at the
 * first break and names it.
 */
export function verifyAuditChain(events: Iterable<SealedAuditEvent>, anchor: ChainAnchor = GENESIS_ANCHOR, head?: ChainAnchor): ChainVerification {
  const verifier = createChainVerifier(anchor);
  for (const event of events) if (verifier.push(event) !== undefined) break;
  return verifier.finish(head);
}

function bodyHasSeq(body: string, seq: number): boolean {
  // Canonical bodies sort keys: the top-level "seq" follows actor, at, data and proposalId,
  // and only string or number values follow it, so its key is the last unescaped `"seq":`.
  // Compared digit by digit, without building the expected text: verify runs this per event.
  const key = body.lastIndexOf('"seq":');
  if (key === -1 || !Number.isSafeInteger(seq) || seq < 0) return false;
  let i = key + 6;
  let value = 0;
  const start = i;
  for (let c = body.charCodeAt(i); c >= 48 && c <= 57; c = body.charCodeAt(i)) {
    value = value * 10 + (c - 48);
    i += 1;
  }
  // No leading zeros: "seq":007 is not the canonical text of 7.
  const digits = i - start;
  return digits > 0 && digits <= 16 && (digits === 1 || body.charCodeAt(start) !== 48) && value === seq && body.charCodeAt(i) === 44;
}

/** Parses a sealed event's body. @throws SyntaxError if the body is not JSON. */
export function parseAuditBody(body: string): AuditEvent {
  return JSON.parse(body) as AuditEvent;
}
