/**
 * The gateway's use cases behind one object, wired from its dependencies. Every way in
 * (HTTP, CLI, later MCP, Slack, email) calls these, so the rules hold the same everywhere.
 */
import { PortcullisError, FINAL_STATUSES, type Actor, type Clock, type IdGenerator } from '@portcullis/core';
import type { AgentConfig, CompiledConfig, PersonConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import type { ProposalRecord, Store } from '../store/store.js';
import { expireDue, recordApproval, rejectProposal, type DecisionInput } from './approvals.js';
import { ProposalChanges, type ServiceDeps } from './deps.js';
import { executeApproved, recoverInterrupted } from './execute.js';
import { propose, type ProposeInput, type ProposeOptions } from './propose.js';
import { checkSystems, type SystemCheck } from './preflight.js';
import { startRun, type StartedRun } from './runs.js';

export type { ProposeInput, ProposeOptions } from './propose.js';
export type { DecisionInput } from './approvals.js';

export interface GatewayService {
  readonly deps: ServiceDeps;
  propose(agent: AgentConfig, input: ProposeInput, options?: ProposeOptions): Promise<ProposalRecord>;
  getProposal(id: string): Promise<ProposalRecord>;
  /** Waits up to `timeoutMs` for the proposal to leave `status`; returns it as it is then. */
  waitForChange(id: string, status: string, timeoutMs: number): Promise<ProposalRecord>;
  /** Records the approval, then executes the proposal. */
  approve(person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord>;
  recordApproval(person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord>;
  executeApproved(id: string): Promise<ProposalRecord>;
  reject(person: PersonConfig, id: string, input: DecisionInput): Promise<ProposalRecord>;
  expireDue(): Promise<number>;
  recoverInterrupted(): Promise<{ flagged: number; resumed: number }>;
  /** Runs the pre-flight checks of the named systems (default: all). Never throws for a failing system. */
  checkSystems(names?: readonly string[]): Promise<SystemCheck[]>;
  /** Starts a run of a workflow once its systems pass their checks. @throws PortcullisError WORKFLOW_NOT_FOUND, SYSTEM_CHECK_FAILED */
  startRun(actor: Actor, workflow: string): Promise<StartedRun>;
}

export interface GatewayServiceOptions {
  readonly config: CompiledConfig;
  readonly store: Store;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

/** How often a long-poll re-reads the store, to see changes made by another gateway instance. */
const POLL_MS = 1000;

/** Creates the gateway service. */
export function createGatewayService(options: GatewayServiceOptions): GatewayService {
  const deps: ServiceDeps = { ...options, changes: new ProposalChanges() };
  const get = async (id: string): Promise<ProposalRecord> => {
    const proposal = await deps.store.getProposal(id);
    if (proposal === undefined) throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${id}"`, { proposalId: id });
    return proposal;
  };
  return {
    deps,
    propose: (agent, input, options) => propose(deps, agent, input, options),
    getProposal: get,
    async waitForChange(id, status, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let current = await get(id);
      while (current.status === status && !FINAL_STATUSES.includes(current.status)) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const changed = await deps.changes.next(id, Math.min(left, POLL_MS));
        current = changed ?? (await get(id));
      }
      return current;
    },
    async approve(person, id, input) {
      await recordApproval(deps, person, id, input);
      return executeApproved(deps, id);
    },
    recordApproval: (person, id, input) => recordApproval(deps, person, id, input),
    executeApproved: (id) => executeApproved(deps, id),
    reject: (person, id, input) => rejectProposal(deps, person, id, input),
    expireDue: () => expireDue(deps),
    recoverInterrupted: () => recoverInterrupted(deps),
    checkSystems: (names) => checkSystems(deps.config, deps.connectors, names),
    startRun: (actor, workflow) => startRun(deps, actor, workflow),
  };
}
