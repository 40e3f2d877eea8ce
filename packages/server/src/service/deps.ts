/** What the use cases need, wired once in the server's entry point. */
import { EventEmitter } from 'node:events';
import { PortcullisError, type Actor, type AuditEventDraft, type AuditEventType, type Clock, type IdGenerator, type JsonValue } from '@portcullis/core';
import type { CompiledConfig, CompiledWorkflow } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import type { ProposalRecord, Store } from '../store/store.js';

export interface ServiceDeps {
  readonly config: CompiledConfig;
  readonly store: Store;
  /** Connectors by system name. */
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** Tells waiters in this process that a proposal changed. */
  readonly changes: ProposalChanges;
}

/** In-process notification of proposal changes, for long-polling. */
export class ProposalChanges {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** Announces a saved change. */
  publish(proposal: ProposalRecord): void {
    this.emitter.emit(proposal.id, proposal);
  }

  /** Resolves with the next change of `id`, or undefined after `timeoutMs`. */
  next(id: string, timeoutMs: number): Promise<ProposalRecord | undefined> {
    return new Promise((resolve) => {
      const done = (value: ProposalRecord | undefined): void => {
        clearTimeout(timer);
        this.emitter.off(id, done);
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.emitter.on(id, done);
    });
  }
}

/** An audit event about a proposal. */
export function proposalEvent(type: AuditEventType, at: number, actor: Actor, proposal: Pick<ProposalRecord, 'id' | 'workflow'>, data: Record<string, JsonValue | undefined>): AuditEventDraft {
  return { type, at, actor, workflow: proposal.workflow, proposalId: proposal.id, data: dropUndefined(data) };
}

/** Removes undefined members so the value is plain JSON. */
export function dropUndefined(data: Record<string, JsonValue | undefined>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(data)) if (value !== undefined) out[key] = value;
  return out;
}

/** The workflow of a proposal. @throws PortcullisError WORKFLOW_NOT_FOUND */
export function workflowOf(config: CompiledConfig, name: string): CompiledWorkflow {
  const workflow = config.workflows.get(name);
  if (workflow === undefined) {
    throw new PortcullisError('WORKFLOW_NOT_FOUND', `unknown workflow "${name}"; configured workflows: ${[...config.workflows.keys()].join(', ') || '(none)'}`, { workflow: name });
  }
  return workflow;
}
