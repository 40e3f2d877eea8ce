/**
 * Policy evaluation: deny by default, returning a decision value with reasons a person can
 * read. Invariants: a high-risk action is never `allow`, whatever the workflow's mode says
 * (SPEC rule 2); a workflow starts approval-first for writes (rule 1); anything outside the
 * grants is denied, naming what was outside (rule 4).
 */
import { checkGrant, formatGrant, type GrantIndex } from './grants.js';
import { defaultRisk, maxRisk, type HighRiskTag, type RiskClass, type Verb } from './risk.js';

/** How a workflow runs a risk class: automatically, or only after a person approves. */
export const MODES = ['auto', 'approval'] as const;
export type Mode = (typeof MODES)[number];

/** The mode every new workflow starts with: reads run (logged), writes and high wait for a person. */
export const APPROVAL_FIRST: Readonly<Record<RiskClass, Mode>> = Object.freeze({ read: 'auto', write: 'approval', high: 'approval' });

/** Decision outcomes, as the HTTP API reports them. */
export const OUTCOMES = ['allow', 'deny', 'needs_approval'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Stable codes for why a proposal was denied. */
export const DENIAL_CODES = ['AGENT_NOT_IN_WORKFLOW', 'AGENT_DISABLED', 'WORKFLOW_DISABLED', 'GRANT_DENIED', 'FIELDS_OUTSIDE_GRANT', 'BOUND_EXCEEDED', 'OUTSIDE_SCOPE', 'SYSTEM_UNAVAILABLE', 'TOOL_BLOCKED'] as const;
export type DenialCode = (typeof DENIAL_CODES)[number];

/** One action type, compiled from a system's definition and the config. */
export interface ActionType {
  readonly name: string;
  readonly system: string;
  readonly resource: string;
  readonly verb: Verb;
  readonly risk: RiskClass;
  readonly riskWhy: string;
  readonly tags: readonly HighRiskTag[];
  /** Whether the gateway can undo it; a sent email cannot. */
  readonly reversible: boolean;
}

/** Limits that make a workflow bounded. */
export interface WorkflowBounds {
  readonly maxRecordsPerAction: number;
  readonly maxActionsPerRun?: number;
  readonly maxActionsPerHour?: number;
}

/** What the policy needs to know of a workflow. */
export interface WorkflowPolicy {
  readonly id: string;
  readonly agent: string;
  readonly department: string;
  readonly mode: Readonly<Record<RiskClass, Mode>>;
  readonly grants: GrantIndex;
  readonly bounds: WorkflowBounds;
}

/** The proposal as the policy sees it. `fields` are the fields the params touch. */
export interface PolicyRequest {
  readonly agent: string;
  readonly action: ActionType;
  readonly fields: readonly string[];
  /** Records the params name explicitly (ids to update or delete), when known before execution. */
  readonly recordCount?: number;
}

/** Facts from state the policy cannot see itself. */
export interface PolicyContext {
  readonly agentActive: boolean;
  readonly workflowActive: boolean;
  readonly actionsThisRun?: number;
  readonly actionsThisHour?: number;
}

/** A policy decision: an outcome and the reasons for it, in words a department lead reads. */
export interface Decision {
  readonly outcome: Outcome;
  readonly reasons: readonly string[];
  readonly risk: RiskClass;
  readonly code?: DenialCode;
}

function deny(code: DenialCode, risk: RiskClass, reason: string): Decision {
  return { outcome: 'deny', code, risk, reasons: [reason] };
}

/** Evaluates one proposal against its workflow. Pure; never throws. */
export function evaluatePolicy(workflow: WorkflowPolicy, request: PolicyRequest, context: PolicyContext): Decision {
  const { action } = request;
  // Never trust a label below the floor: a delete, send or payment, or a tagged action, is high.
  const risk = maxRisk(action.risk, defaultRisk(action.verb, action.tags));
  if (request.agent !== workflow.agent) {
    return deny('AGENT_NOT_IN_WORKFLOW', risk, `agent "${request.agent}" is not the agent of workflow "${workflow.id}" (its agent is "${workflow.agent}")`);
  }
  if (!context.agentActive) return deny('AGENT_DISABLED', risk, `agent "${request.agent}" is disabled`);
  if (!context.workflowActive) return deny('WORKFLOW_DISABLED', risk, `workflow "${workflow.id}" is disabled`);

  const check = checkGrant(workflow.grants, action.system, action.resource, action.verb, request.fields);
  if (check.kind === 'no_grant') {
    const wanted = formatGrant({ system: action.system, resource: action.resource, verb: action.verb });
    return deny('GRANT_DENIED', risk, `workflow "${workflow.id}" has no grant for ${action.verb} on ${action.system}:${action.resource} (needs "${wanted}"${request.fields.length > 0 ? ' or a field-level grant for each field' : ''})`);
  }
  if (check.kind === 'fields_outside_grant') {
    const list = check.fields.map((f) => `${action.resource}.${f}`).join(', ');
    return deny('FIELDS_OUTSIDE_GRANT', risk, `${action.verb} of ${list} is outside the grants of workflow "${workflow.id}"; the whole proposal is denied, nothing is trimmed`);
  }

  const { bounds } = workflow;
  if (request.recordCount !== undefined && request.recordCount > bounds.maxRecordsPerAction) {
    return deny('BOUND_EXCEEDED', risk, `the action names ${request.recordCount} records; workflow "${workflow.id}" allows at most ${bounds.maxRecordsPerAction} per action`);
  }
  if (bounds.maxActionsPerRun !== undefined && context.actionsThisRun !== undefined && context.actionsThisRun >= bounds.maxActionsPerRun) {
    return deny('BOUND_EXCEEDED', risk, `this run already has ${context.actionsThisRun} actions; workflow "${workflow.id}" allows at most ${bounds.maxActionsPerRun} per run`);
  }
  if (bounds.maxActionsPerHour !== undefined && context.actionsThisHour !== undefined && context.actionsThisHour >= bounds.maxActionsPerHour) {
    return deny('BOUND_EXCEEDED', risk, `workflow "${workflow.id}" already has ${context.actionsThisHour} actions in the last hour; it allows at most ${bounds.maxActionsPerHour}`);
  }

  const granted = `granted to workflow "${workflow.id}"`;
  if (risk === 'high') {
    return { outcome: 'needs_approval', risk, reasons: [granted, `${action.riskWhy}; high-risk actions always need a person's approval`] };
  }
  if (workflow.mode[risk] === 'auto') {
    return { outcome: 'allow', risk, reasons: [granted, `${risk} actions run without approval in this workflow`] };
  }
  return { outcome: 'needs_approval', risk, reasons: [granted, `${risk} actions need approval in this workflow (approval-first)`] };
}
