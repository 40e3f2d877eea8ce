/**
 * The legacy audit hash chain, kept only to verify trails written before the Merkle tree
 * (store migration 9): such a trail is verified link by link once, before the tree is built
 * over it, and `audit verify` still checks those old links. Nothing new is sealed into a chain.
 * Invariant: each chained event's hash is SHA-256 over the previous event's hash and the
 * event's canonical body, and sequence numbers are contiguous from the anchor; so editing any
 * byte of an old event, deleting one, or reordering them breaks verification at the first
 * affected event.
 */
import { auditBodyHasSeq, auditEventBody, type AuditEventDraft } from './audit-event.js';
import { sha256Hex } from './hash.js';
import { merkleLeafHash, type MerkleHash } from './merkle.js';

/** The hash before the first chained event. */
export const GENESIS_HASH = '0'.repeat(64);

/** An event as the hash chain sealed it: its canonical body and its link. */
export interface ChainedAuditEvent {
  readonly seq: number;
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** Where a chain starts: the genesis, or the last event removed by a retention purge. */
export interface ChainAnchor {
  readonly seq: number;
  readonly hash: string;
}

export const GENESIS_ANCHOR: ChainAnchor = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/** The hash of a body chained after `prevHash`. */
export function chainHash(prevHash: string, body: string): string {
  return sha256Hex(`${prevHash}\n${body}`);
}

/** Seals a draft into the legacy chain as event `seq` after `prevHash` (only to build old trails in tests and tools). */
export function sealChainedAuditEvent(draft: AuditEventDraft, seq: number, prevHash: string): ChainedAuditEvent {
  const body = auditEventBody(draft, seq);
  return { seq, body, prevHash, hash: chainHash(prevHash, body) };
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
  push(event: ChainedAuditEvent): ChainBreak | undefined;
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
      if (!auditBodyHasSeq(event.body, event.seq)) return fail(event.seq, `event ${event.seq} was edited: its sequence number does not match its content`);
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
 * Verifies chained events in sequence order from `anchor`. `head`, when given, is the chain head
 * the store recorded separately, so deleting the newest events is detected too. Stops at the
 * first break and names it.
 */
export function verifyAuditChain(events: Iterable<ChainedAuditEvent>, anchor: ChainAnchor = GENESIS_ANCHOR, head?: ChainAnchor): ChainVerification {
  const verifier = createChainVerifier(anchor);
  for (const event of events) if (verifier.push(event) !== undefined) break;
  return verifier.finish(head);
}

/** An event as a store holds it: chained (legacy) or sealed with its leaf hash (`hash` its hex, `prevHash` empty). */
export type StoredTrailEvent = ChainedAuditEvent;

/**
 * Checks a stored trail's events in order, whichever way each was sealed, and gives each one's
 * RFC 6962 leaf hash to append to the tree being rebuilt. Events up to `chainThrough` were
 * sealed into the legacy chain and are checked link by link from `chainAnchor`; later ones must
 * carry their body's leaf hash (hex) and their own seq in their body. Sequence numbers must run
 * on from `firstSeq`. Returns the leaf hash, or the problem (naming the event) as a string.
 */
export function createTrailChecker(chainThrough: number, chainAnchor: ChainAnchor, firstSeq: number): (event: StoredTrailEvent) => MerkleHash | string {
  const chain = chainAnchor.seq < chainThrough ? createChainVerifier(chainAnchor) : undefined;
  let next = firstSeq;
  return (event) => {
    if (event.seq !== next) {
      return event.seq > next
        ? `event ${next}${event.seq - next > 1 ? `–${event.seq - 1}` : ''} is missing (the next event present is ${event.seq})`
        : `event ${event.seq} appears out of order (expected ${next})`;
    }
    next += 1;
    if (event.seq <= chainThrough) {
      const broken = chain?.push(event);
      if (broken !== undefined) return broken.problem;
      return merkleLeafHash(event.body);
    }
    if (!auditBodyHasSeq(event.body, event.seq)) return `event ${event.seq} was edited: its sequence number does not match its content`;
    if (event.prevHash !== '') return `event ${event.seq} was edited: it is sealed by its leaf hash, so its stored previous-hash must be empty, and it is not`;
    const leaf = merkleLeafHash(event.body);
    if (!sameHex(leaf, event.hash)) return `event ${event.seq} was edited: its body and its stored leaf hash no longer match (one of them was changed)`;
    return leaf;
  };
}

const HEX = '0123456789abcdef';

/** Whether `hex` is the lowercase hex of `hash`, compared without building a string. */
function sameHex(hash: MerkleHash, hex: string): boolean {
  if (hex.length !== hash.length * 2) return false;
  for (let i = 0; i < hash.length; i += 1) {
    const b = hash[i] as number;
    if (hex.charCodeAt(2 * i) !== HEX.charCodeAt(b >> 4) || hex.charCodeAt(2 * i + 1) !== HEX.charCodeAt(b & 15)) return false;
  }
  return true;
}
