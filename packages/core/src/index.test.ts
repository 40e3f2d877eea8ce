import { describe, expect, it } from 'vitest';
import * as core from './index.js';

describe('@portcullis/core public surface', () => {
  it('exports exactly these names (a change here must be deliberate)', () => {
    expect(Object.keys(core).sort()).toEqual([
      'ACTOR_KINDS',
      'APPROVAL_FIRST',
      'APPROVAL_REFUSALS',
      'AUDIT_EVENT_TYPES',
      'AUDIT_FORMAT_VERSION',
      'DENIAL_CODES',
      'ERROR_CODES',
      'FINAL_STATUSES',
      'GENESIS_ANCHOR',
      'GENESIS_HASH',
      'GRANT_VERBS',
      'HIGH_RISK_TAGS',
      'MODES',
      'OPEN_STATUSES',
      'OUTCOMES',
      'PROPOSAL_EVENTS',
      'PROPOSAL_STATUSES',
      'PortcullisError',
      'RISK_CLASSES',
      'SETTLED_STATUSES',
      'TRANSITIONS',
      'VERBS',
      'authoriseApprover',
      'canonicalJson',
      'chainHash',
      'checkApprovalForExecution',
      'checkGrant',
      'compareRisk',
      'compileGrants',
      'coveredVerbs',
      'createChainVerifier',
      'defaultRisk',
      'evaluatePolicy',
      'formatGrant',
      'grantKey',
      'impliedTags',
      'isPortcullisError',
      'isSettled',
      'maxRisk',
      'parseAuditBody',
      'parseGrant',
      'proposalDigest',
      'resolveRisk',
      'sealAuditEvent',
      'sha256Hex',
      'transition',
      'verifyAuditChain',
    ]);
  });

  it('exports no undefined binding', () => {
    for (const [name, value] of Object.entries(core)) expect(value, name).toBeDefined();
  });
});
