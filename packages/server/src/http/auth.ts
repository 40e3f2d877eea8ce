/**
 * Authentication on the wire: agents present their API key, people their personal token, both
 * as `Authorization: Bearer <secret>`; the service says whose it is (service/callers.ts). A
 * route that needs one kind of caller refuses the other here; the refusal is audited by the
 * error handler through the service.
 */
import { PortcullisError } from '@portcullis/core';
import type { AgentConfig, Caller, GatewayService, PersonConfig } from '../service/contracts.js';

/** Who is calling. */
export type Principal = Caller;

/** Resolves an Authorization header to a caller, or undefined if absent. @throws UNAUTHENTICATED for a bad header or unknown secret. */
export function authenticate(service: GatewayService, header: string | undefined): Principal | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) throw new PortcullisError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <api key or token>"');
  return service.identify(match[1] as string);
}

/** The caller, whoever it is. @throws UNAUTHENTICATED */
export function requireCaller(principal: Principal | undefined): Principal {
  if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'send "Authorization: Bearer <api key or token>"');
  return principal;
}

/** The calling agent. @throws UNAUTHENTICATED or FORBIDDEN */
export function requireAgent(principal: Principal | undefined): AgentConfig {
  if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'this route needs an agent API key: send "Authorization: Bearer <key>"');
  if (principal.kind !== 'agent') throw new PortcullisError('FORBIDDEN', 'only agents propose actions; people approve them');
  return principal.agent;
}

/**
 * The calling person. `action` names what the route does, for the refusal an agent gets
 * (default: "decide on or review proposals").
 * @throws UNAUTHENTICATED or FORBIDDEN
 */
export function requirePerson(principal: Principal | undefined, action = 'decide on or review proposals'): PersonConfig {
  if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'this route needs a personal token: send "Authorization: Bearer <token>"');
  if (principal.kind !== 'person') throw new PortcullisError('FORBIDDEN', `agents cannot ${action}; only people can, with a personal token`);
  return principal.person;
}
