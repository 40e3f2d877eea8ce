/**
 * The public surface of @portcullis/core: the rules, pure. Exports are explicit and pinned
 * by a test, so a change to this surface is a deliberate one.
 */
export { RISK_CLASSES, VERBS, HIGH_RISK_TAGS, compareRisk, maxRisk, impliedTags, defaultRisk, resolveRisk } from './risk.js';
export type { RiskClass, Verb, HighRiskTag, RiskAssessment } from './risk.js';
export { canonicalJson } from './canonical-json.js';
export type { JsonValue } from './canonical-json.js';
export { sha256Hex } from './hash.js';
export { GRANT_VERBS, parseGrant, formatGrant, coveredVerbs, grantKey, compileGrants, checkGrant } from './grants.js';
export type { Grant, GrantVerb, GrantCoverage, GrantIndex, GrantCheck } from './grants.js';
export { MODES, APPROVAL_FIRST, OUTCOMES, DENIAL_CODES, evaluatePolicy } from './policy.js';
export type { Mode, Outcome, DenialCode, ActionType, WorkflowBounds, WorkflowPolicy, PolicyRequest, PolicyContext, Decision } from './policy.js';
export { PROPOSAL_STATUSES, PROPOSAL_EVENTS, TRANSITIONS, FINAL_STATUSES, OPEN_STATUSES, SETTLED_STATUSES, isSettled, transition } from './lifecycle.js';
export type { ProposalStatus, ProposalEvent } from './lifecycle.js';
export { proposalDigest, authoriseApprover, checkApprovalForExecution, APPROVAL_REFUSALS } from './approval.js';
export type { ProposalContent, ApproverPolicy, ApprovalRecord, ApprovalRefusal } from './approval.js';
export { AUDIT_FORMAT_VERSION, AUDIT_EVENT_TYPES, ACTOR_KINDS, auditEventBody, auditBodyHasSeq, auditPurgeRecords, sealAuditEvent, parseAuditBody } from './audit-event.js';
export type { AuditEventType, ActorKind, Actor, AuditEventDraft, AuditPurgeRecord, SealedAuditEvent, AuditEvent } from './audit-event.js';
export { GENESIS_HASH, GENESIS_ANCHOR, chainHash, sealChainedAuditEvent, createChainVerifier, verifyAuditChain, createTrailChecker } from './audit-chain.js';
export type { ChainedAuditEvent, StoredTrailEvent, ChainAnchor, ChainBreak, ChainVerification, ChainVerifier } from './audit-chain.js';
export {
  EMPTY_TREE_ROOT, merkleLeafHash, merkleNodeHash, sameHash, createMerkleFrontier, appendFrontier, merkleRoot, inclusionProof, consistencyProof,
  rootFromInclusionProof, verifyInclusion, verifyConsistency,
} from './merkle.js';
export type { MerkleHash, MerkleFrontier, MerkleFrontierState } from './merkle.js';
export { DEFAULT_BREAKER_THRESHOLD, isExecutionFailure, consecutiveFailures, breakerTrips } from './breaker.js';
export type { BreakerEntry } from './breaker.js';
export { ERROR_CODES, PortcullisError, isPortcullisError } from './errors.js';
export type { Fault, ErrorCode } from './errors.js';
export { ALERT_KINDS } from './ports.js';
export { STAGES, ROLLOUT_RULES, windowRate, windowHolds, stageOf, readiness, rolloutGate } from './rollout.js';
export type { Stage, RolloutFacts, WindowFigures, Criterion, WriteActions, GateEntry } from './rollout.js';
export { dailyFigures, approvalRateLow, nearestRank } from './daily-figures.js';
export type { FigureEntry, DailyFigures, ApprovalRateRule } from './daily-figures.js';
export type { Clock, IdGenerator, ChangeFeed, StateChange, Alert, AlertKind, Notifier, ProposalMove, GaugeSnapshot, MetricsRecorder } from './ports.js';
