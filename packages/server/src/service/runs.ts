/**
 * Workflow runs. Invariant: a run starts only when every system its workflow's grants reach
 * passes its pre-flight check ("verify connections are alive before a run"); a proposal that
 * names a runId is accepted only if that run was started this way, for the same workflow.
 * Starting and refusing are both audited (`run.started`, `run.refused`).
 */
import { PortcullisError, type JsonValue } from '@portcullis/core';
import type { CompiledWorkflow } from '../config/compiled.js';
import type { RunRecord } from '../store/store.js';
import { workflowOf, type ServiceDeps } from './deps.js';
import { actorOf, visibleWorkflows, type Caller } from './callers.js';
import { checkSystems, type SystemCheck } from './preflight.js';

/** A started run and the checks it passed. */
export interface StartedRun {
  readonly run: RunRecord;
  readonly checks: readonly SystemCheck[];
}

/** A check's detail without the `system "NAME": ` that connectors start their errors with, as the message names the system already. */
const withoutSystemName = (c: SystemCheck): string => (c.detail.startsWith(`system "${c.system}": `) ? c.detail.slice(`system "${c.system}": `.length) : c.detail);

const checkJson = (c: SystemCheck): JsonValue => ({ system: c.system, kind: c.kind, ok: c.ok, detail: c.detail.slice(0, 500), ms: c.ms });

/**
 * Checks the workflow's systems, then records the run.
 * An agent starts runs of its own workflows; a person of the workflows they may see (one they
 * may not see is "not found", as one that does not exist).
 * @throws PortcullisError WORKFLOW_NOT_FOUND, FORBIDDEN; SYSTEM_CHECK_FAILED naming each failing system (audited as run.refused).
 */
export async function startRun(deps: ServiceDeps, caller: Caller, workflowId: string): Promise<StartedRun> {
  const known = deps.config.workflows.get(workflowId);
  if (known !== undefined && caller.kind === 'agent' && known.agent !== caller.agent.id) {
    throw new PortcullisError('FORBIDDEN', `agent "${caller.agent.id}" is not the agent of workflow "${known.id}", so it cannot start its runs`);
  }
  if (known !== undefined && caller.kind === 'person' && !visibleWorkflows(deps.config, caller).includes(known.id)) {
    throw new PortcullisError('WORKFLOW_NOT_FOUND', `unknown workflow "${known.id}"`);
  }
  const actor = actorOf(caller);
  const workflow = workflowOf(deps.config, workflowId);
  const checks = await checkSystems(deps.config, deps.connectors, workflow.systems);
  const failing = checks.filter((c) => !c.ok);
  const at = deps.clock.now();
  if (failing.length > 0) {
    await deps.store.appendAudit([{ type: 'run.refused', at, actor, workflow: workflow.id, data: { checks: checks.map(checkJson) } }]);
    const named = failing.map((c) => `system "${c.system}" (${c.kind}) fails its check: ${withoutSystemName(c)}`).join('; ');
    throw new PortcullisError('SYSTEM_CHECK_FAILED', `workflow "${workflow.id}" cannot start a run: ${named}. Fix the system (\`portcullis check\` shows every system) and start the run again`, {
      workflow: workflow.id, failing: failing.map((c) => ({ system: c.system, kind: c.kind, detail: c.detail })),
    });
  }
  const run: RunRecord = { id: deps.ids.next('run'), workflow: workflow.id, startedBy: `${actor.kind}:${actor.id}`, startedAt: at, checks: checks.map(checkJson) };
  await deps.store.insertRun(run, [{ type: 'run.started', at, actor, workflow: workflow.id, data: { runId: run.id, checks: run.checks } }]);
  return { run, checks };
}

/**
 * Refuses a runId that was not started for `workflow`.
 * @throws PortcullisError RUN_NOT_STARTED saying how to start one.
 */
export async function assertRunStarted(deps: ServiceDeps, workflow: CompiledWorkflow, runId: string): Promise<void> {
  const run = await deps.store.getRun(runId);
  if (run === undefined) {
    throw new PortcullisError('RUN_NOT_STARTED', `runId "${runId}" was not started: start a run with POST /v1/runs {"workflow": "${workflow.id}"} (it checks the workflow's systems first) and send the runId it returns, or leave runId out`, { runId });
  }
  if (run.workflow !== workflow.id) {
    throw new PortcullisError('RUN_NOT_STARTED', `runId "${runId}" is a run of workflow "${run.workflow}", not "${workflow.id}"; start a run for "${workflow.id}" with POST /v1/runs`, { runId, workflow: run.workflow });
  }
}
