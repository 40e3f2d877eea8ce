import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GENESIS_ANCHOR, GENESIS_HASH, chainHash, createChainVerifier, sealChainedAuditEvent as sealAuditEvent, verifyAuditChain,
  type ChainAnchor, type ChainedAuditEvent as SealedAuditEvent,
} from './audit-chain.js';
import { ACTOR_KINDS, AUDIT_EVENT_TYPES, AUDIT_FORMAT_VERSION, parseAuditBody, type AuditEventDraft } from './audit-event.js';
import type { JsonValue } from './canonical-json.js';
import { sha256Hex } from './hash.js';

/** Seals drafts into a chain from the genesis (or an anchor), as a store would. */
function sealChain(drafts: readonly AuditEventDraft[], anchor: ChainAnchor = GENESIS_ANCHOR): SealedAuditEvent[] {
  const events: SealedAuditEvent[] = [];
  let prev = anchor.hash;
  drafts.forEach((draft, i) => {
    const event = sealAuditEvent(draft, anchor.seq + i + 1, prev);
    events.push(event);
    prev = event.hash;
  });
  return events;
}

function headOf(events: readonly SealedAuditEvent[], anchor: ChainAnchor = GENESIS_ANCHOR): ChainAnchor {
  const last = events.at(-1);
  return last === undefined ? anchor : { seq: last.seq, hash: last.hash };
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index}`);
  return item;
}

const draftArb: fc.Arbitrary<AuditEventDraft> = fc.record(
  {
    type: fc.constantFrom(...AUDIT_EVENT_TYPES),
    at: fc.nat(),
    actor: fc.record({ kind: fc.constantFrom(...ACTOR_KINDS), id: fc.string({ unit: 'binary', maxLength: 12 }) }),
    workflow: fc.string({ maxLength: 10 }),
    proposalId: fc.string({ maxLength: 10 }),
    data: fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue>, { maxKeys: 4 }),
  },
  { requiredKeys: ['type', 'at', 'actor', 'data'] },
);

const draft = (type: AuditEventDraft['type'], data: AuditEventDraft['data'] = {}): AuditEventDraft => ({ type, at: 1_700_000_000_000, actor: { kind: 'system', id: 'gateway' }, data });

describe('sealChainedAuditEvent (the legacy chain, verified at upgrade)', () => {
  it('writes a canonical body with the format version and seq, and chains the hash', () => {
    const event = sealAuditEvent({ ...draft('proposal.received', { b: 1, a: 2 }), workflow: 'wf', proposalId: 'prop_1' }, 1, GENESIS_HASH);
    expect(event.body).toBe(`{"actor":{"id":"gateway","kind":"system"},"at":1700000000000,"data":{"a":2,"b":1},"proposalId":"prop_1","seq":1,"type":"proposal.received","v":${AUDIT_FORMAT_VERSION},"workflow":"wf"}`);
    expect(event.prevHash).toBe(GENESIS_HASH);
    expect(event.hash).toBe(sha256Hex(`${GENESIS_HASH}\n${event.body}`));
    expect(event.hash).toBe(chainHash(GENESIS_HASH, event.body));
    expect(parseAuditBody(event.body)).toEqual({ v: 1, seq: 1, at: 1_700_000_000_000, type: 'proposal.received', actor: { kind: 'system', id: 'gateway' }, workflow: 'wf', proposalId: 'prop_1', data: { a: 2, b: 1 } });
  });

  it('the genesis is 64 zeros at seq 0', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(GENESIS_ANCHOR).toEqual({ seq: 0, hash: GENESIS_HASH });
  });
});

describe('verifyAuditChain', () => {
  it('an empty chain verifies with count 0 and ends at its anchor', () => {
    expect(verifyAuditChain([])).toEqual({ ok: true, count: 0, last: GENESIS_ANCHOR });
  });

  it('property: any sequence of drafts, sealed in a chain, verifies with count n', () => {
    fc.assert(fc.property(fc.array(draftArb, { maxLength: 20 }), (drafts) => {
      const events = sealChain(drafts);
      const head = headOf(events);
      expect(verifyAuditChain(events)).toEqual({ ok: true, count: drafts.length, last: head });
      expect(verifyAuditChain(events, GENESIS_ANCHOR, head)).toEqual({ ok: true, count: drafts.length, last: head });
      events.forEach((event, i) => expect(parseAuditBody(event.body).seq).toBe(i + 1));
    }));
  });

  it('property: changing any single character of any body fails at exactly that seq', () => {
    const arb = fc.array(draftArb, { minLength: 1, maxLength: 12 }).chain((drafts) => {
      const events = sealChain(drafts);
      return fc.record({
        events: fc.constant(events),
        index: fc.nat(events.length - 1),
        position: fc.nat(),
        char: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      });
    });
    fc.assert(fc.property(arb, ({ events, index, position, char }) => {
      const target = at(events, index);
      const pos = position % target.body.length;
      fc.pre(target.body[pos] !== char);
      const tampered = events.slice();
      tampered[index] = { ...target, body: target.body.slice(0, pos) + char + target.body.slice(pos + 1) };
      const result = verifyAuditChain(tampered);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.break.seq).toBe(index + 1);
      expect(result.count).toBe(index);
      expect(verifyAuditChain(tampered, GENESIS_ANCHOR, headOf(events))).toMatchObject({ ok: false, break: { seq: index + 1 } });
    }), { numRuns: 500 });
  });

  it('property: deleting any one event fails at exactly its seq (the last one only with head given)', () => {
    const arb = fc.array(draftArb, { minLength: 1, maxLength: 12 }).chain((drafts) => fc.record({ drafts: fc.constant(drafts), index: fc.nat(drafts.length - 1) }));
    fc.assert(fc.property(arb, ({ drafts, index }) => {
      const events = sealChain(drafts);
      const head = headOf(events);
      const remaining = events.filter((_, i) => i !== index);
      const withHead = verifyAuditChain(remaining, GENESIS_ANCHOR, head);
      expect(withHead.ok).toBe(false);
      if (!withHead.ok) expect(withHead.break.seq).toBe(index + 1);
      const withoutHead = verifyAuditChain(remaining);
      if (index === events.length - 1) {
        // Without a separately recorded head, a truncated chain is indistinguishable from a shorter one.
        expect(withoutHead).toEqual({ ok: true, count: events.length - 1, last: headOf(remaining) });
      } else {
        expect(withoutHead).toMatchObject({ ok: false, count: index, break: { seq: index + 1, problem: expect.stringContaining('missing') } });
      }
    }), { numRuns: 300 });
  });

  it('property: swapping any two events fails at exactly the first of them', () => {
    const arb = fc.array(draftArb, { minLength: 2, maxLength: 12 }).chain((drafts) => fc.record({
      drafts: fc.constant(drafts),
      pair: fc.uniqueArray(fc.nat(drafts.length - 1), { minLength: 2, maxLength: 2 }),
    }));
    fc.assert(fc.property(arb, ({ drafts, pair }) => {
      const [i, j] = [Math.min(at(pair, 0), at(pair, 1)), Math.max(at(pair, 0), at(pair, 1))];
      const events = sealChain(drafts);
      const swapped = events.slice();
      swapped[i] = at(events, j);
      swapped[j] = at(events, i);
      for (const head of [undefined, headOf(events)]) {
        const result = verifyAuditChain(swapped, GENESIS_ANCHOR, head);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.break.seq).toBe(i + 1);
      }
    }), { numRuns: 300 });
  });

  it('property: after a purge of the first k events, the rest verifies from the anchor (event k)', () => {
    const arb = fc.array(draftArb, { minLength: 1, maxLength: 12 }).chain((drafts) => fc.record({ drafts: fc.constant(drafts), k: fc.nat(drafts.length) }));
    fc.assert(fc.property(arb, ({ drafts, k }) => {
      const events = sealChain(drafts);
      const anchor = k === 0 ? GENESIS_ANCHOR : { seq: at(events, k - 1).seq, hash: at(events, k - 1).hash };
      const kept = events.slice(k);
      expect(verifyAuditChain(kept, anchor, headOf(events))).toEqual({ ok: true, count: drafts.length - k, last: headOf(events) });
      if (k > 0 && kept.length > 0) {
        // Without the anchor, the purged prefix reads as missing events.
        expect(verifyAuditChain(kept)).toMatchObject({ ok: false, break: { seq: 1 } });
        // A wrong anchor hash breaks the link of the first kept event.
        expect(verifyAuditChain(kept, { seq: anchor.seq, hash: 'f'.repeat(64) })).toMatchObject({ ok: false, break: { seq: k + 1 } });
      }
    }), { numRuns: 300 });
  });

  it('a chain sealed after a non-genesis anchor verifies from it', () => {
    const anchor = { seq: 41, hash: sha256Hex('purged') };
    const events = sealChain([draft('audit.purged'), draft('gateway.started')], anchor);
    expect(events.map((e) => e.seq)).toEqual([42, 43]);
    expect(verifyAuditChain(events, anchor)).toEqual({ ok: true, count: 2, last: headOf(events) });
  });

  it('an edited event whose hash was recomputed breaks the link of the next event', () => {
    const events = sealChain([draft('proposal.received'), draft('proposal.decided', { outcome: 'deny' }), draft('proposal.received')]);
    const forged = sealAuditEvent(draft('proposal.decided', { outcome: 'allow' }), 2, at(events, 0).hash);
    const tampered = [at(events, 0), forged, at(events, 2)];
    expect(verifyAuditChain(tampered)).toMatchObject({ ok: false, count: 2, break: { seq: 3, problem: expect.stringContaining('does not link') } });
    // Forging the newest event is caught by the separately recorded head.
    expect(verifyAuditChain(tampered.slice(0, 2))).toMatchObject({ ok: true });
    expect(verifyAuditChain(tampered.slice(0, 2), GENESIS_ANCHOR, headOf(events.slice(0, 2)))).toMatchObject({ ok: false, break: { seq: 3 } });
  });

  it('a changed previous-hash is named', () => {
    const events = sealChain([draft('gateway.started'), draft('config.loaded')]);
    const tampered = [at(events, 0), { ...at(events, 1), prevHash: GENESIS_HASH }];
    expect(verifyAuditChain(tampered)).toMatchObject({ ok: false, break: { seq: 2, problem: expect.stringContaining('previous-hash') } });
  });

  it('an event whose seq does not match its body is refused', () => {
    const misplaced = sealAuditEvent(draft('gateway.started'), 5, GENESIS_HASH);
    expect(verifyAuditChain([{ ...misplaced, seq: 1 }])).toMatchObject({ ok: false, break: { seq: 1, problem: expect.stringContaining('sequence number') } });
  });

  it('a duplicated event is refused as out of order', () => {
    const events = sealChain([draft('gateway.started'), draft('config.loaded')]);
    expect(verifyAuditChain([at(events, 0), at(events, 0), at(events, 1)])).toMatchObject({ ok: false, break: { seq: 2, problem: expect.stringContaining('out of order') } });
  });

  it('a head beyond the last event names the missing range', () => {
    const events = sealChain([draft('gateway.started'), draft('config.loaded'), draft('config.loaded')]);
    const result = verifyAuditChain(events.slice(0, 1), GENESIS_ANCHOR, headOf(events));
    expect(result).toMatchObject({ ok: false, count: 1, break: { seq: 2, problem: expect.stringContaining('event 2–3 is missing') } });
  });
});

describe('createChainVerifier', () => {
  it('streams to the same result as verifyAuditChain, and stays broken after the first break', () => {
    const events = sealChain([draft('gateway.started'), draft('config.loaded'), draft('proposal.received'), draft('proposal.decided')]);
    const tampered = [at(events, 0), { ...at(events, 1), body: at(events, 1).body.replace('config', 'CONFIG') }, at(events, 2), at(events, 3)];
    const verifier = createChainVerifier();
    expect(verifier.push(at(tampered, 0))).toBeUndefined();
    const first = verifier.push(at(tampered, 1));
    expect(first).toMatchObject({ seq: 2 });
    // Pushing on after a break, even a valid-looking event, keeps reporting the first break.
    expect(verifier.push(at(tampered, 2))).toEqual(first);
    expect(verifier.finish(headOf(events))).toEqual({ ok: false, count: 1, break: first });
    expect(verifyAuditChain(tampered, GENESIS_ANCHOR, headOf(events))).toEqual({ ok: false, count: 1, break: first });
  });

  it('finishes a good chain at its head', () => {
    const events = sealChain([draft('gateway.started'), draft('config.loaded')]);
    const verifier = createChainVerifier();
    for (const event of events) expect(verifier.push(event)).toBeUndefined();
    expect(verifier.finish(headOf(events))).toEqual({ ok: true, count: 2, last: headOf(events) });
  });
});

describe('regressions: bugs found and fixed in review', () => {
  // BUG (minor): bodyHasSeq checks `body.includes('"seq":N,')`, so a `data` member named "seq"
  // satisfies it even when the event's own seq differs. Fix: compare parseAuditBody(body).seq
  // (or check the top-level `,"seq":N,"type":` that canonical key order guarantees).
  it('an event whose body says another seq is refused even if its data has a "seq" member', () => {
    const misplaced = sealAuditEvent(draft('gateway.started', { seq: 1, z: 0 }), 5, GENESIS_HASH);
    expect(verifyAuditChain([{ ...misplaced, seq: 1 }]).ok).toBe(false);
  });
});
