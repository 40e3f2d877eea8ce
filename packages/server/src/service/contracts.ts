/**
 * The shapes the service shares with its faces (HTTP, MCP, CLI, demo; later the dashboard,
 * Slack and email): requests, responses, records, the service itself, and the few pure helpers
 * that shape what faces show (views, the check table). A face imports from here only, and
 * nothing from the store, the config internals, a connector or the wiring; the layering check
 * (.dependency-cruiser.cjs) holds that line.
 */
export { auditEventView, provenAuditEventView, proposalView, toAuditEventView, toProposalView, type AuditEventView, type ProposalView } from './views.js';
export { formatCheckTable } from './preflight.js';
export { MAX_WORKERS, type EventProof } from './audit.js';
export { checkAuditProof, type AuditInclusionProof, type ProofCheck, type TreeVerification } from './audit-checkpoints.js';
export type { AdminService, AuditAdmin, ListedTool, VaultAdmin } from './admin.js';
export type { DeadLetterView, NotificationsAdmin, ReplayView } from './notifications-admin.js';
export type { GatewayService, ProposeInput, ProposeOptions, DecisionInput, ResolveInput, RollbackInput, RollbackReport, RollbackStep } from './gateway-service.js';
export { RESOLUTIONS } from './resolve.js';
export type { Caller } from './callers.js';
export type { RefusalContext } from './refusals.js';
export type { AuditQuery, ProposalListQuery, WorkflowView } from './queries.js';
export type { AgentTool } from './agent-tools.js';
export type { ToolCallKey, ToolCallOutcome } from './tool-calls.js';
export type { SystemCheck } from './preflight.js';
export type { MetricsQuery, WorkflowMetrics } from './daily-metrics.js';
export type { RolloutInput, RolloutView } from './rollout.js';
export type { SimulatedChange, SimulatedDay, SimulatedWorkflowDay, SimulationOutcome, SimulationResult } from './simulation.js';
export { STAGES, type Criterion, type Stage } from '@portcullis/core';
export type { DailyFigures } from '@portcullis/core';
export type { AgentStatus, GatewayStatus, SwitchInput, SwitchOutcome, WorkflowStatus } from './switches.js';
export type { DisabledView } from './disabled-view.js';
export { SUBJECT_KINDS, type SubjectKind } from '../store/store.js';
export type { StartedRun } from './runs.js';
export type { ProposalRecord, StoredAuditEvent, RunRecord } from '../store/store.js';
export type { AgentConfig, PersonConfig, CompiledConfig, CompiledAction, CompiledWorkflow } from '../config/compiled.js';
export type { ConfigError, LoadResult } from '../config/load.js';
