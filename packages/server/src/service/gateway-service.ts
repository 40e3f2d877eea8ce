/**
 * The gateway's use cases behind one object, wired from its dependencies. Every way in
 * (HTTP, MCP, CLI, later the dashboard, Slack, email) calls these, so the rules hold the same
 * everywhere; a face never reaches the store, a connector or the wiring.
 */
import { PortcullisError, FINAL_STATUSES, type MetricsRecorder, type Notifier, type ChangeFeed, type Clock, type IdGenerator } from '@portcullis/core';
import type { AgentConfig, CompiledConfig, PersonConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import type { ProposalRecord, Store, StoredAuditEvent } from '../store/store.js';
import type { AgentTool } from './agent-tools.js';
import { proveAuditEvents, verifyStoredTrail, type EventProof, type TreeVerification } from './audit.js';
import type { SignedCheckpoint } from '../audit-log/checkpoint.js';
import { actorOf, identify, visibleWorkflows, type Caller } from './callers.js';
import { recordStart } from './gateway-start.js';
import { listProposals, listWorkflows, previewChanges, proposalFor, queryAudit, visibleSystems, type AuditQuery, type ProposalListQuery, type WorkflowView } from './queries.js';
import type { RecordChange } from '../connectors/connector.js';
import { auditRefusal, type RefusalContext } from './refusals.js';
import { callTool, listTools, markToolCallDelivered, type ToolCallKey, type ToolCallOutcome } from './tool-calls.js';
import { expireDue, recordApproval, rejectProposal, type DecisionInput } from './approvals.js';
import type { ServiceDeps } from './deps.js';
import { createInProcessChangeFeed } from './change-feed.js';
import { createProposalRateLimiter, type ProposalRateLimiter } from './rate-limiter.js';
import { executeApproved, recoverInterrupted, type ExecutionRun } from './execute.js';
import { propose, type ProposeInput, type ProposeOptions } from './propose.js';
import { resolveOutcome, type ResolveInput } from './resolve.js';
import { checkSystems, type SystemCheck } from './preflight.js';
import { startRun, type StartedRun } from './runs.js';
import { metricsFor, type MetricsQuery, type WorkflowMetrics } from './daily-metrics.js';
import { gaugeSnapshot } from './gauges.js';
import { evaluateAlerts } from './alert-rules.js';
import { deployWorkflow, promoteWorkflow, rolloutFor, rolloutReport, type RolloutInput, type RolloutView } from './rollout.js';
import { disableSubject, enableSubject, gatewayStatus, type GatewayStatus, type SwitchInput, type SwitchOutcome } from './switches.js';
import type { SubjectKind } from '../store/store.js';
import { rollbackProposal, rollbackRun, type RollbackInput, type RollbackReport } from './rollback.js';

export type { ResolveInput };
export type { ProposeInput, ProposeOptions } from './propose.js';
export type { DecisionInput } from './approvals.js';
export type { RollbackInput, RollbackReport, RollbackStep } from './rollback.js';

export interface GatewayService {
  /** The compiled config in force (read-only; faces read presentation settings from it). */
  readonly config: CompiledConfig;
  readonly deps: ServiceDeps;
  /** The caller a secret (API key or personal token) belongs to. @throws PortcullisError UNAUTHENTICATED */
  identify(secret: string): Caller;
  /** The ids of the workflows a caller may see. */
  visibleWorkflows(caller: Caller): string[];
  /** Audits a refused request of an identified caller (once; see refusals.ts). Never throws. */
  auditRefusal(caller: Caller, error: unknown, context?: RefusalContext): Promise<void>;
  /** Whether the audit store can be written (the gateway executes nothing while it cannot). */
  readiness(): Promise<{ ok: true } | { ok: false; error: string; check: 'store' | 'audit' }>;
  propose(agent: AgentConfig, input: ProposeInput, options?: ProposeOptions): Promise<ProposalRecord>;
  getProposal(id: string): Promise<ProposalRecord>;
  /** A proposal the caller may see. @throws PortcullisError PROPOSAL_NOT_FOUND */
  proposalFor(caller: Caller, id: string): Promise<ProposalRecord>;
  /** Proposals of the caller's workflows with a status. */
  listProposals(caller: Caller, query: ProposalListQuery): Promise<ProposalRecord[]>;
  /** What a proposal would change if it ran now, old and new values side by side; undefined when its system cannot read ahead. Never throws. */
  previewChanges(proposal: ProposalRecord): Promise<RecordChange[] | undefined>;
  /** The workflows the caller may see, with their actions. */
  listWorkflows(caller: Caller): WorkflowView[];
  /** Audit events of the caller's workflows (people only). @throws PortcullisError FORBIDDEN */
  queryAudit(caller: Caller, query: AuditQuery): Promise<StoredAuditEvent[]>;
  /**
   * The inclusion proof of each event (by seq) against the newest published signed checkpoint,
   * or why there is none (checkpoints not configured, none published yet, the event newer than it).
   */
  proveAuditEvents(events: readonly StoredAuditEvent[]): Promise<Map<number, EventProof>>;
  /** Verifies the whole stored audit chain. */
  verifyAudit(): Promise<TreeVerification>;
  /**
   * Waits up to `timeoutMs` for the proposal to leave `status`, or until `signal` aborts (the
   * gateway is stopping); returns it as it was last read.
   */
  waitForChange(id: string, status: string, timeoutMs: number, signal?: AbortSignal): Promise<ProposalRecord>;
  /** Records the approval, then executes the proposal. */
  approve(person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord>;
  recordApproval(person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord>;
  executeApproved(id: string): Promise<ProposalRecord>;
  reject(person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord>;
  /**
   * A lead of the workflow's department (or an admin) resolves an `outcome_unknown` proposal as
   * succeeded or failed, with a note; audited, and announced to an agent waiting on it.
   * @throws PortcullisError PROPOSAL_NOT_FOUND, FORBIDDEN, INVALID_REQUEST, ILLEGAL_TRANSITION
   */
  resolve(person: PersonConfig, id: string, input: ResolveInput): Promise<ProposalRecord>;
  /**
   * A person with the role (an admin, a lead or delegate of the workflow's department, the
   * agent's technical owner) rolls back one succeeded proposal, with a reason: their act is the
   * approval. Records changed since are left alone and reported as drifted.
   * @throws PortcullisError PROPOSAL_NOT_FOUND, FORBIDDEN, INVALID_REQUEST, ILLEGAL_TRANSITION,
   *   NOT_REVERSIBLE (naming the manual fallback), STORE_UNAVAILABLE; nothing changed when it throws
   */
  rollbackProposal(person: PersonConfig, id: string, input: RollbackInput): Promise<RollbackReport>;
  /**
   * Rolls back every executed write of a run, newest first, stopping at the first failure;
   * the report says what was undone, what drifted and what was not attempted.
   * @throws PortcullisError RUN_NOT_FOUND, FORBIDDEN, INVALID_REQUEST, ILLEGAL_TRANSITION,
   *   NOT_REVERSIBLE, STORE_UNAVAILABLE; nothing changed when it throws
   */
  rollbackRun(person: PersonConfig, runId: string, input: RollbackInput): Promise<RollbackReport>;
  expireDue(): Promise<number>;
  recoverInterrupted(): Promise<{ flagged: number; resumed: number }>;
  /** Runs the pre-flight checks of the named systems (default: all). Never throws for a failing system. */
  checkSystems(names?: readonly string[]): Promise<SystemCheck[]>;
  /** The names of the systems a caller may check. */
  visibleSystems(caller: Caller): string[];
  /**
   * Starts a run of a workflow the caller may start (an agent its own workflows, a person those
   * they may see) once its systems pass their checks.
   * @throws PortcullisError WORKFLOW_NOT_FOUND, FORBIDDEN, SYSTEM_CHECK_FAILED
   */
  startRun(caller: Caller, workflow: string): Promise<StartedRun>;
  /** The tools an agent may call now (MCP face). */
  listTools(agent: AgentConfig): Promise<AgentTool[]>;
  /** One tool call of an agent: a proposal, or a refusal (audited). */
  callTool(agent: AgentConfig, name: string, args: Record<string, unknown> | undefined, run?: ExecutionRun): Promise<ToolCallOutcome>;
  /** Records that a call's outcome is being delivered, so the same call again is a new proposal. */
  markToolCallDelivered(key: ToolCallKey): Promise<void>;
  /**
   * The kill switch: a person disables a workflow or an agent at once, with a reason; its next
   * proposal is denied and its pending and approved proposals are cancelled (switches.ts).
   * @throws PortcullisError WORKFLOW_NOT_FOUND, AGENT_NOT_FOUND, FORBIDDEN, INVALID_REQUEST (no reason), ILLEGAL_TRANSITION (disabled already)
   */
  disable(person: PersonConfig, kind: SubjectKind, id: string, input: SwitchInput): Promise<SwitchOutcome>;
  /** Enables a disabled workflow or agent again, with a reason. @throws PortcullisError as disable; ILLEGAL_TRANSITION when not disabled */
  enable(person: PersonConfig, kind: SubjectKind, id: string, input: SwitchInput): Promise<SwitchOutcome>;
  /** What is disabled (by whom, why, since when), the runbooks, the breakers' counts and the latest alerts of the caller's workflows. */
  status(caller: Caller): Promise<GatewayStatus>;
  /**
   * A workflow's daily figures (calendar days in the gateway's time zone).
   * @throws PortcullisError WORKFLOW_NOT_FOUND, FORBIDDEN, INVALID_REQUEST (see daily-metrics.ts)
   */
  workflowMetrics(caller: Caller, id: string, query: MetricsQuery): Promise<WorkflowMetrics>;
  /** The Prometheus exposition of the gateway's metrics, with the gauges read now; undefined when no metrics recorder is wired. */
  metricsText(): Promise<{ contentType: string; text: string } | undefined>;
  /** Evaluates the scheduled alert rules (approval rate, waiting unknown outcomes); returns how many alerts were raised. */
  evaluateAlerts(): Promise<number>;
  /** Each of the caller's workflows' stage, modes in force and why, readiness and gate (service/rollout.ts). */
  rolloutReport(caller: Caller): Promise<RolloutView[]>;
  /** One workflow's rollout report. @throws PortcullisError WORKFLOW_NOT_FOUND, FORBIDDEN */
  rollout(caller: Caller, id: string): Promise<RolloutView>;
  /** Deploys a draft through the rollout gate. @throws PortcullisError FORBIDDEN, INVALID_REQUEST, ILLEGAL_TRANSITION, ROLLOUT_GATE_CLOSED */
  deploy(person: PersonConfig, id: string, input: RolloutInput): Promise<RolloutView>;
  /** Promotes a ready workflow's writes to automatic. @throws PortcullisError FORBIDDEN, INVALID_REQUEST, ILLEGAL_TRANSITION, PROMOTION_NOT_READY */
  promote(person: PersonConfig, id: string, input: RolloutInput): Promise<RolloutView>;
  /** Audits that the gateway started (with the digest of what its config allows). @throws PortcullisError STORE_UNAVAILABLE */
  recordStart(): Promise<void>;
}

export interface GatewayServiceOptions {
  readonly config: CompiledConfig;
  readonly store: Store;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Where state changes are announced; default an in-process feed. */
  readonly changes?: ChangeFeed;
  /** Counts proposals per agent per minute; default this process's limiter (rate-limiter.ts). */
  readonly rateLimiter?: ProposalRateLimiter;
  /** Why executions are refused now (the audit trail cannot be vouched for), if they are. */
  readonly trailGate?: () => string | undefined;
  /** Who tells people about alerts; none: alerts are only audited (and shown by GET /v1/status). */
  readonly notifier?: Notifier;
  /** Counts proposals' moves for GET /metrics. */
  readonly metrics?: MetricsRecorder;
  /** The newest published signed checkpoint, for inclusion proofs. */
  readonly latestCheckpoint?: () => SignedCheckpoint | undefined;
}

/**
 * Why the store refuses appends now, if it does: its tree does not end at its recorded head
 * (events deleted and the head moved back, or the head edited), or either is missing. Every
 * request that would write an event is then refused, so readiness says so too.
 */
async function appendsBlocked(deps: Pick<ServiceDeps, 'store'>): Promise<string | undefined> {
  try {
    const [tree, head] = await Promise.all([deps.store.auditTree(), deps.store.auditHead()]);
    const end = tree.baseSeq + tree.frontier.size;
    if (end === head.seq) return undefined;
    return `the audit tree ends at event ${end} but the trail's recorded head is event ${head.seq}: the store was edited, and every append is refused; run \`portcullis audit verify\` and restore a backup taken before the edit`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** How often a long-poll re-reads the store, to see changes made by another gateway instance. */
const POLL_MS = 1000;

/** Creates the gateway service. */
export function createGatewayService(options: GatewayServiceOptions): GatewayService {
  const deps: ServiceDeps = { ...options, changes: options.changes ?? createInProcessChangeFeed(), rateLimiter: options.rateLimiter ?? createProposalRateLimiter() };
  const get = async (id: string): Promise<ProposalRecord> => {
    const proposal = await deps.store.getProposal(id);
    if (proposal === undefined) throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`, { proposalId: id });
    return proposal;
  };
  return {
    config: deps.config,
    deps,
    identify: (secret) => identify(deps.config, secret),
    visibleWorkflows: (caller) => visibleWorkflows(deps.config, caller),
    auditRefusal: (caller, error, context) => auditRefusal(deps, actorOf(caller), error, context),
    async readiness() {
      const store = await deps.store.checkWritable();
      if (!store.ok) return { ...store, check: 'store' as const };
      const trail = deps.trailGate?.() ?? await appendsBlocked(deps);
      return trail === undefined ? store : { ok: false as const, error: trail, check: 'audit' as const };
    },
    propose: (agent, input, options) => propose(deps, agent, input, options),
    getProposal: get,
    proposalFor: (caller, id) => proposalFor(deps, caller, id),
    listProposals: (caller, query) => listProposals(deps, caller, query),
    previewChanges: (proposal) => previewChanges(deps, proposal),
    listWorkflows: (caller) => listWorkflows(deps, caller),
    queryAudit: (caller, query) => queryAudit(deps, caller, query),
    verifyAudit: () => verifyStoredTrail(deps.store),
    proveAuditEvents: (events) => proveAuditEvents(deps, events),
    async waitForChange(id, status, timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      // The listener is removed when the wait ends, so a long-running gateway does not gather one per held call.
      let onAbort: (() => void) | undefined;
      const aborted = signal === undefined ? undefined : new Promise<void>((resolve) => {
        onAbort = () => resolve();
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      const stopped = (): boolean => signal?.aborted === true;
      try {
        let current = await get(id);
        while (current.status === status && !FINAL_STATUSES.includes(current.status)) {
          const left = deadline - Date.now();
          if (left <= 0 || stopped()) break;
          // A change is a hint: re-read the proposal either way (another process may have moved it).
          const next = deps.changes.next('proposal', id, Math.min(left, POLL_MS));
          await (aborted === undefined ? next : Promise.race([next, aborted]));
          if (stopped()) break;
          current = await get(id);
        }
        return current;
      } finally {
        if (signal !== undefined && onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      }
    },
    async approve(person, id, input) {
      await recordApproval(deps, person, id, input);
      return executeApproved(deps, id);
    },
    recordApproval: (person, id, input) => recordApproval(deps, person, id, input),
    executeApproved: (id) => executeApproved(deps, id),
    reject: (person, id, input) => rejectProposal(deps, person, id, input),
    resolve: (person, id, input) => resolveOutcome(deps, person, id, input),
    rollbackProposal: (person, id, input) => rollbackProposal(deps, person, id, input),
    rollbackRun: (person, runId, input) => rollbackRun(deps, person, runId, input),
    expireDue: () => expireDue(deps),
    recoverInterrupted: () => recoverInterrupted(deps),
    checkSystems: (names) => checkSystems(deps.config, deps.connectors, names),
    visibleSystems: (caller) => visibleSystems(deps, caller),
    startRun: (caller, workflow) => startRun(deps, caller, workflow),
    listTools: (agent) => listTools(deps, agent),
    callTool: (agent, name, args, run) => callTool(deps, agent, name, args, run),
    markToolCallDelivered: (key) => markToolCallDelivered(deps, key),
    disable: (person, kind, id, input) => disableSubject(deps, person, kind, id, input),
    enable: (person, kind, id, input) => enableSubject(deps, person, kind, id, input),
    status: (caller) => gatewayStatus(deps, caller),
    workflowMetrics: (caller, id, query) => metricsFor(deps, caller, id, query),
    async metricsText() {
      if (deps.metrics === undefined) return undefined;
      return deps.metrics.render(await gaugeSnapshot(deps));
    },
    evaluateAlerts: () => evaluateAlerts(deps),
    rolloutReport: (caller) => rolloutReport(deps, caller),
    rollout: (caller, id) => rolloutFor(deps, caller, id),
    deploy: (person, id, input) => deployWorkflow(deps, person, id, input),
    promote: (person, id, input) => promoteWorkflow(deps, person, id, input),
    recordStart: () => recordStart(deps),
  };
}
