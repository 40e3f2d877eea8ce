/**
 * Authentication. Agents present their API key, people their personal token, both as
 * `Authorization: Bearer <secret>`; only SHA-256 hashes are configured, so a lookup hashes
 * the presented secret. Keys are high-entropy random strings, so a fast hash is enough.
 */
import { PortcullisError, sha256Hex } from '@portcullis/core';
import type { AgentConfig, CompiledConfig, PersonConfig } from '../config/compiled.js';

/** Who is calling. */
export type Principal =
  | { readonly kind: 'agent'; readonly agent: AgentConfig }
  | { readonly kind: 'person'; readonly person: PersonConfig };

/** Resolves an Authorization header to a principal, or undefined if absent. @throws UNAUTHENTICATED for a bad header or unknown secret. */
export function authenticate(config: CompiledConfig, header: string | undefined): Principal | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) throw new PortcullisError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <api key or token>"');
  const hash = sha256Hex(match[1] as string);
  const agent = config.agentsByKeyHash.get(hash);
  if (agent !== undefined) return { kind: 'agent', agent };
  const person = config.peopleByTokenHash.get(hash);
  if (person !== undefined) return { kind: 'person', person };
  throw new PortcullisError('UNAUTHENTICATED', 'the API key or token matches no agent or person in the configuration');
}

/** The calling agent. @throws UNAUTHENTICATED or FORBIDDEN */
export function requireAgent(principal: Principal | undefined): AgentConfig {
  if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'this route needs an agent API key: send "Authorization: Bearer <key>"');
  if (principal.kind !== 'agent') throw new PortcullisError('FORBIDDEN', 'only agents propose actions; people approve them');
  return principal.agent;
}

/** The calling person. @throws UNAUTHENTICATED or FORBIDDEN */
export function requirePerson(principal: Principal | undefined): PersonConfig {
  if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'this route needs a personal token: send "Authorization: Bearer <token>"');
  if (principal.kind !== 'person') throw new PortcullisError('FORBIDDEN', 'agents cannot decide on or review proposals; only people can');
  return principal.person;
}

/** The workflows a person may see: all for admins, else those of departments they lead or are delegates of, or own. */
export function visibleWorkflows(config: CompiledConfig, person: PersonConfig): string[] {
  if (person.admin) return [...config.workflows.keys()];
  return [...config.workflows.values()]
    .filter((w) => w.owner === person.id || w.approvers.approvers.has(person.id) || w.approvers.technicalOwner === person.id)
    .map((w) => w.id);
}
