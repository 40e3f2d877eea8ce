/**
 * Who is calling, and what they may see. Invariants owned here: an agent is known only by its
 * API key itself and a person only by their token itself (the configured SHA-256 hashes are
 * never accepted in their place); which workflows a caller may see is decided here and
 * nowhere else: an agent sees its own workflows; a person sees every workflow if an admin,
 * else the workflows they own, approve for (lead or delegate of the department) or are the
 * agent's technical owner of.
 */
import { PortcullisError, sha256Hex, type Actor } from '@portcullis/core';
import type { AgentConfig, CompiledConfig, CompiledWorkflow, PersonConfig } from '../config/compiled.js';

/** An identified caller: an agent (by its API key) or a person (by their token). */
export type Caller =
  | { readonly kind: 'agent'; readonly agent: AgentConfig }
  | { readonly kind: 'person'; readonly person: PersonConfig };

/**
 * The caller a secret (an API key or a personal token) belongs to. Only SHA-256 hashes are
 * configured, so the presented secret is hashed; keys are high-entropy random strings, so a
 * fast hash is enough. @throws PortcullisError UNAUTHENTICATED when it matches nobody.
 */
export function identify(config: CompiledConfig, secret: string): Caller {
  const hash = sha256Hex(secret);
  const agent = config.agentsByKeyHash.get(hash);
  if (agent !== undefined) return { kind: 'agent', agent };
  const person = config.peopleByTokenHash.get(hash);
  if (person !== undefined) return { kind: 'person', person };
  throw new PortcullisError('UNAUTHENTICATED', 'the API key or token matches no agent or person in the configuration');
}

/** The audit actor of a caller. */
export function actorOf(caller: Caller): Actor {
  return caller.kind === 'agent' ? { kind: 'agent', id: caller.agent.id } : { kind: 'person', id: caller.person.id };
}

/** The ids of the workflows a caller may see, in config order. */
export function visibleWorkflows(config: CompiledConfig, caller: Caller): string[] {
  const all = [...config.workflows.values()];
  if (caller.kind === 'agent') return all.filter((w) => w.agent === caller.agent.id).map((w) => w.id);
  const { person } = caller;
  if (person.admin) return all.map((w) => w.id);
  return all
    .filter((w) => w.owner === person.id || w.approvers.approvers.has(person.id) || w.approvers.technicalOwner === person.id)
    .map((w) => w.id);
}

/**
 * Whether a person answers for a workflow, and so may stop it or roll back what it did: an
 * admin, a lead or delegate of its department, or its agent's technical owner (SPEC rules 9, 10).
 */
export function answersForWorkflow(person: PersonConfig, workflow: CompiledWorkflow): boolean {
  return person.admin || workflow.approvers.approvers.has(person.id) || workflow.approvers.technicalOwner === person.id;
}
