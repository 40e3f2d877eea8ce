import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { APPROVAL_REFUSALS, authoriseApprover, checkApprovalForExecution, proposalDigest, type ApprovalRecord, type ApproverPolicy, type ProposalContent } from './approval.js';
import type { JsonValue } from './canonical-json.js';

/** Rebuilds a JSON value with every object's keys in reverse insertion order. */
function reverseKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value).reverse()) out[key] = reverseKeys(value[key] as JsonValue);
    return out;
  }
  return value;
}

// Plain JSON without -0 (JSON cannot tell -0 from 0) and without __proto__ keys (assignment would not create them).
const jsonArb: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue)
  .filter((v) => !JSON.stringify(v).includes('"__proto__"'));

const content: ProposalContent = { workflow: 'wf-leads', action: 'crm.leads.update', params: { id: 'lead_1', owner_id: 'u_7', note: 'hand over' } };

describe('proposalDigest', () => {
  it('is a SHA-256 hex digest', () => {
    expect(proposalDigest(content)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is independent of key order', () => {
    const reordered: ProposalContent = { params: { note: 'hand over', owner_id: 'u_7', id: 'lead_1' }, action: 'crm.leads.update', workflow: 'wf-leads' };
    expect(proposalDigest(reordered)).toBe(proposalDigest(content));
  });

  it('property: independent of key order at any depth', () => {
    fc.assert(fc.property(jsonArb, (params) => {
      expect(proposalDigest({ workflow: 'w', action: 'a', params: reverseKeys(params) })).toBe(proposalDigest({ workflow: 'w', action: 'a', params }));
    }));
  });

  it('changes with the workflow, the action, or any param', () => {
    const base = proposalDigest(content);
    const variants: ProposalContent[] = [
      { ...content, workflow: 'wf-other' },
      { ...content, action: 'crm.leads.create' },
      { ...content, params: { id: 'lead_1', owner_id: 'u_8', note: 'hand over' } },
      { ...content, params: { id: 'lead_1', owner_id: 'u_7' } },
      { ...content, params: { id: 'lead_1', owner_id: 'u_7', note: 'hand over', extra: null } },
      { ...content, params: { id: 'lead_1', owner_id: 'u_7', note: 'hand over ' } },
      { ...content, params: { id: 'lead_1', owner_id: 'u_7', Note: 'hand over' } },
      { ...content, params: [{ id: 'lead_1', owner_id: 'u_7', note: 'hand over' }] },
    ];
    const digests = variants.map(proposalDigest);
    for (const digest of digests) expect(digest).not.toBe(base);
    expect(new Set(digests).size).toBe(digests.length);
    expect(proposalDigest({ ...content, params: { n: 1 } })).not.toBe(proposalDigest({ ...content, params: { n: '1' } }));
    expect(proposalDigest({ ...content, params: { n: [1, 2] } })).not.toBe(proposalDigest({ ...content, params: { n: [2, 1] } }));
  });

  it('property: two params give the same digest iff they are equal as data', () => {
    fc.assert(fc.property(jsonArb, jsonArb, (a, b) => {
      const same = proposalDigest({ workflow: 'w', action: 'a', params: a }) === proposalDigest({ workflow: 'w', action: 'a', params: b });
      expect(same).toBe(isDeepStrictEqual(a, b));
    }));
  });
});

describe('checkApprovalForExecution', () => {
  const approval: ApprovalRecord = {
    proposalId: 'prop_1', digest: proposalDigest(content), approver: 'lead-1', reason: 'ok', decidedAt: 1_000, expiresAt: 61_000,
  };

  it('accepts the approved proposal, unchanged, unused, before expiry', () => {
    expect(checkApprovalForExecution(approval, 'prop_1', content, 2_000)).toEqual({ ok: true });
    expect(checkApprovalForExecution(approval, 'prop_1', { params: content.params, action: content.action, workflow: content.workflow }, 60_999)).toEqual({ ok: true });
  });

  it('refuses different params: APPROVAL_DIGEST_MISMATCH, nothing executed', () => {
    const changed = { ...content, params: { id: 'lead_1', owner_id: 'u_666', note: 'hand over' } };
    const result = checkApprovalForExecution(approval, 'prop_1', changed, 2_000);
    expect(result).toMatchObject({ ok: false, code: 'APPROVAL_DIGEST_MISMATCH' });
    if (!result.ok) expect(result.error).toContain('nothing was executed');
  });

  it('refuses a different action or workflow under the same approval', () => {
    expect(checkApprovalForExecution(approval, 'prop_1', { ...content, action: 'crm.leads.delete' }, 2_000)).toMatchObject({ ok: false, code: 'APPROVAL_DIGEST_MISMATCH' });
    expect(checkApprovalForExecution(approval, 'prop_1', { ...content, workflow: 'wf-billing' }, 2_000)).toMatchObject({ ok: false, code: 'APPROVAL_DIGEST_MISMATCH' });
  });

  it('refuses reuse: APPROVAL_ALREADY_USED', () => {
    const used = { ...approval, usedAt: 3_000 };
    expect(checkApprovalForExecution(used, 'prop_1', content, 4_000)).toMatchObject({ ok: false, code: 'APPROVAL_ALREADY_USED' });
    expect(checkApprovalForExecution({ ...approval, usedAt: 0 }, 'prop_1', content, 4_000)).toMatchObject({ ok: false, code: 'APPROVAL_ALREADY_USED' });
  });

  it('refuses after expiry: APPROVAL_EXPIRED', () => {
    const result = checkApprovalForExecution(approval, 'prop_1', content, 61_001);
    expect(result).toMatchObject({ ok: false, code: 'APPROVAL_EXPIRED' });
    expect(checkApprovalForExecution(approval, 'prop_1', content, Number.MAX_SAFE_INTEGER)).toMatchObject({ ok: false, code: 'APPROVAL_EXPIRED' });
  });

  it('refuses an approval of another proposal, even with identical content', () => {
    const result = checkApprovalForExecution(approval, 'prop_2', content, 2_000);
    expect(result).toMatchObject({ ok: false, code: 'APPROVAL_WRONG_PROPOSAL' });
    if (!result.ok) expect(result.error).toContain('prop_1');
  });

  it('refusal codes are the documented ones', () => {
    expect([...APPROVAL_REFUSALS].sort()).toEqual(['APPROVAL_ALREADY_USED', 'APPROVAL_DIGEST_MISMATCH', 'APPROVAL_EXPIRED', 'APPROVAL_WRONG_PROPOSAL']);
  });

  it('property: accepted only when the proposal, digest, unused and time all hold', () => {
    fc.assert(fc.property(
      fc.constantFrom('prop_1', 'prop_2'), jsonArb, fc.option(fc.nat(), { nil: undefined }), fc.integer({ min: 0, max: 200_000 }),
      (proposalId, params, usedAt, now) => {
        const record: ApprovalRecord = usedAt === undefined ? approval : { ...approval, usedAt };
        const candidate = { ...content, params };
        const result = checkApprovalForExecution(record, proposalId, candidate, now);
        const valid = proposalId === 'prop_1' && usedAt === undefined && now <= approval.expiresAt && proposalDigest(candidate) === approval.digest;
        expect(result.ok).toBe(valid);
      },
    ));
  });
});

describe('authoriseApprover', () => {
  const policy: ApproverPolicy = { department: 'sales', approvers: new Set(['lead-1', 'delegate-2', 'owner-9']), technicalOwner: 'owner-9', allowOwnerApproval: false };

  it('accepts a lead or delegate of the department', () => {
    expect(authoriseApprover(policy, 'lead-1')).toEqual({ ok: true });
    expect(authoriseApprover(policy, 'delegate-2')).toEqual({ ok: true });
  });

  it('refuses a person who is not an approver of the department, naming it', () => {
    const result = authoriseApprover(policy, 'random-5');
    expect(result).toEqual({ ok: false, error: expect.stringContaining('department "sales"') });
  });

  it('refuses the agent itself (it is no approver)', () => {
    expect(authoriseApprover(policy, 'agent-1').ok).toBe(false);
  });

  it('refuses the technical owner, even when listed as an approver, unless allowOwnerApproval', () => {
    const result = authoriseApprover(policy, 'owner-9');
    expect(result).toEqual({ ok: false, error: expect.stringContaining('technical owner') });
    expect(authoriseApprover({ ...policy, allowOwnerApproval: true }, 'owner-9')).toEqual({ ok: true });
  });

  it('allowOwnerApproval does not make a non-approver owner an approver', () => {
    const notListed: ApproverPolicy = { ...policy, approvers: new Set(['lead-1']), allowOwnerApproval: true };
    expect(authoriseApprover(notListed, 'owner-9').ok).toBe(false);
  });
});
