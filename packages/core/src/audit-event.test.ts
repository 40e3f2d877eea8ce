import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { AUDIT_FORMAT_VERSION, auditBodyHasSeq, auditEventBody, auditPurgeRecords, parseAuditBody, sealAuditEvent } from './audit-event.js';

const draft = { type: 'proposal.received', at: 1_700_000_000_000, actor: { kind: 'system', id: 'gateway' }, workflow: 'wf', proposalId: 'prop_1', data: { b: 1, a: 2 } } as const;

describe('sealAuditEvent', () => {
  it('seals a canonical body with the format version and seq, and its RFC 6962 leaf hash: one hash, no chain', () => {
    const event = sealAuditEvent(draft, 7);
    expect(event.body).toBe(`{"actor":{"id":"gateway","kind":"system"},"at":1700000000000,"data":{"a":2,"b":1},"proposalId":"prop_1","seq":7,"type":"proposal.received","v":${AUDIT_FORMAT_VERSION},"workflow":"wf"}`);
    expect(event.body).toBe(auditEventBody(draft, 7));
    // RFC 6962 section 2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)); computed here without the product's Merkle code.
    const expected = createHash('sha256').update(Buffer.from([0])).update(event.body, 'utf8').digest('hex');
    expect(Buffer.from(event.leafHash).toString('hex')).toBe(expected);
    expect(Object.keys(event).sort()).toEqual(['body', 'leafHash', 'seq']);
    expect(parseAuditBody(event.body)).toMatchObject({ v: 1, seq: 7, workflow: 'wf', data: { a: 2, b: 1 } });
  });

  it('refuses a value JSON cannot carry', () => {
    expect(() => sealAuditEvent({ ...draft, data: { n: Number.NaN } }, 1)).toThrow();
  });
});

describe('auditBodyHasSeq', () => {
  it('reads the top-level seq of a canonical body, not a nested one, and no leading zeros', () => {
    const body = auditEventBody({ ...draft, data: { seq: 3 } }, 12);
    expect(auditBodyHasSeq(body, 12)).toBe(true);
    expect(auditBodyHasSeq(body, 3)).toBe(false);
    expect(auditBodyHasSeq(body.replace('"seq":12', '"seq":012'), 12)).toBe(false);
    expect(auditBodyHasSeq('{}', 1)).toBe(false);
  });
});

describe('auditPurgeRecords', () => {
  it('lists the purges an audit.purged event records: those it lists, oldest first, then its own', () => {
    const data = {
      throughSeq: 90, before: 5000, leavesKept: true, treeSize: 90, treeRoot: 'ab', anchorHash: 'x', purged: 40,
      earlierPurges: [{ throughSeq: 50, before: 3000, at: 4000, leavesKept: false }, 'not a purge', null, [1]],
    };
    expect(auditPurgeRecords(data, 6000)).toEqual([
      { throughSeq: 50, before: 3000, at: 4000, leavesKept: false },
      { throughSeq: 90, before: 5000, at: 6000, leavesKept: true, treeSize: 90, treeRoot: 'ab' },
    ]);
  });

  it('records a purge of an earlier version (no leaf hashes kept, no frontier, no list) as its own only', () => {
    expect(auditPurgeRecords({ throughSeq: 7, before: 1 }, 2)).toEqual([{ throughSeq: 7, before: 1, at: 2, leavesKept: false }]);
  });
});
