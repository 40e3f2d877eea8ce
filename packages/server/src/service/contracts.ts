/**
 * The shapes the service shares with its faces (HTTP, MCP, CLI, demo; later the dashboard,
 * Slack and email): requests, responses, records and the service itself. A face imports types
 * from here and nothing from the store, the config internals, a connector or the wiring; the
 * layering check (.dependency-cruiser.cjs) holds that line.
 */
export type { GatewayService, ProposeInput, ProposeOptions, DecisionInput } from './gateway-service.js';
export type { Caller } from './callers.js';
export type { RefusalContext } from './refusals.js';
export type { AuditQuery, ProposalListQuery, WorkflowView } from './queries.js';
export type { AgentTool } from './agent-tools.js';
export type { ToolCallKey, ToolCallOutcome } from './tool-calls.js';
export type { SystemCheck } from './preflight.js';
export type { StartedRun } from './runs.js';
export type { ProposalRecord, StoredAuditEvent, RunRecord } from '../store/store.js';
export type { AgentConfig, PersonConfig, CompiledConfig, CompiledAction, CompiledWorkflow } from '../config/compiled.js';
export type { ConfigError, LoadResult } from '../config/load.js';
