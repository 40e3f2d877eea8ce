/** People's routes to stop and restart agents and workflows (the kill switch), and the status of what is off. */
import { z } from 'zod';
import { SUBJECT_KINDS, auditEventView, toAuditEventView, type GatewayService, type SubjectKind } from '../service/contracts.js';
import { requireCaller, requirePerson } from './auth.js';
import { errorBody } from './errors.js';
import { idParam } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody };

export const switchBody = z.strictObject({
  reason: z.string().min(1, 'say why').max(2000).describe('why; required, kept in the audit trail and shown by GET /v1/status'),
});

const disabledView = z.object({
  by: z.string().describe('the person who disabled it, or `breaker` when the circuit breaker tripped'),
  reason: z.string(),
  since: z.string().describe('ISO 8601'),
  breaker: z.boolean().describe('true when the circuit breaker disabled it'),
}).describe('Disabled');

export const switchOutcomeView = z.object({
  kind: z.enum(SUBJECT_KINDS),
  id: z.string(),
  disabled: disabledView.optional().describe('absent once enabled'),
  cancelled: z.array(z.string()).describe('ids of the proposals the switch cancelled (pending approval or approved, not yet executing)'),
}).describe('SwitchOutcome');

export const statusView = z.object({
  workflows: z.array(z.object({
    id: z.string(), department: z.string(), agent: z.string(),
    disabled: disabledView.optional(),
    runbook: z.string().describe('the manual fallback: what people do while the agent is off'),
    breaker: z.object({ failures: z.number().int().describe('execution failures in a row now'), threshold: z.number().int().describe('failures in a row that disable the workflow') }),
  })),
  agents: z.array(z.object({ id: z.string(), owner: z.string(), disabled: disabledView.optional() })),
  alerts: z.array(auditEventView).describe('the newest alert.raised events of the caller\'s workflows, newest first'),
}).describe('Status');

const PLURAL: Record<SubjectKind, string> = { workflow: 'workflows', agent: 'agents' };

export function registerSwitchRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;
  for (const kind of SUBJECT_KINDS) {
    for (const verb of ['disable', 'enable'] as const) {
      app.post(`/v1/${PLURAL[kind]}/:id/${verb}`, {
        schema: {
          summary: verb === 'disable'
            ? `Disable ${kind === 'workflow' ? 'a workflow' : 'an agent'} at once (the kill switch), with a reason`
            : `Enable a disabled ${kind} again, with a reason`,
          description: verb === 'disable'
            ? `An admin, a lead or delegate of the ${kind === 'workflow' ? 'workflow\'s department' : 'agent\'s department or of one of its workflows\' departments'}, or the agent's technical owner may. The next proposal is denied (${kind === 'workflow' ? 'WORKFLOW_DISABLED' : 'AGENT_DISABLED'}); pending and approved proposals are cancelled; actions already executing finish and are recorded. Audited as ${kind}.disabled. 409 when it is disabled already.`
            : `The same people may. Audited as ${kind}.enabled; ${kind === 'workflow' ? 'the circuit breaker counts failures again from here' : 'its proposals are decided again'}. 409 when it is not disabled.`,
          tags: ['people'], params: idParam, body: switchBody,
          response: { 200: switchOutcomeView, ...errors },
        },
      }, async (request) => {
        const person = requirePerson(request.principal, `${verb} ${PLURAL[kind]}`);
        const done = await service[verb](person, kind, request.params.id, { reason: request.body.reason });
        return { ...done, cancelled: [...done.cancelled] };
      });
    }
  }

  app.get('/v1/status', {
    schema: {
      summary: 'What is disabled among the caller\'s workflows and agents (by whom, why, since when), each workflow\'s runbook and breaker count, and the latest alerts',
      tags: ['people'],
      response: { 200: statusView, 401: errorBody, 403: errorBody },
    },
  }, async (request) => {
    requirePerson(request.principal, 'read the status of workflows and agents');
    const status = await service.status(requireCaller(request.principal));
    return { workflows: [...status.workflows], agents: [...status.agents], alerts: status.alerts.map(toAuditEventView) };
  });
}
