/** Agent routes: propose an action, read it, long-poll its outcome. */
import { PortcullisError } from '@portcullis/core';
import { z } from 'zod';
import type { CompiledConfig } from '../config/compiled.js';
import type { GatewayService } from '../service/gateway-service.js';
import type { ProposalRecord } from '../store/store.js';
import { requireAgent, visibleWorkflows, type Principal } from './auth.js';
import { errorBody } from './errors.js';
import { idParam, idempotencyHeaders, proposalView, proposeBody, toProposalView, waitQuery } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody, 503: errorBody };

/** Whether the caller may see a proposal: its agent, or a person whose workflows include it. */
function assertVisible(config: CompiledConfig, principal: Principal | undefined, proposal: ProposalRecord): void {
  if (principal?.kind === 'agent' && principal.agent.id === proposal.agent) return;
  if (principal?.kind === 'person' && visibleWorkflows(config, principal.person).includes(proposal.workflow)) return;
  if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'send "Authorization: Bearer <api key or token>"');
  throw new PortcullisError('PROPOSAL_NOT_FOUND', `no proposal has id "${proposal.id}"`);
}

export function registerActionRoutes(app: TypedApp, deps: { config: CompiledConfig; service: GatewayService }): void {
  const { config, service } = deps;
  const reversible = (p: ProposalRecord): boolean | undefined => config.actions.get(p.action)?.reversible;

  app.post('/v1/actions', {
    schema: {
      summary: 'Propose an action',
      description: 'The gateway validates the params, decides (allow, deny or needs_approval) and, when allowed, executes at once. A proposal that needs approval waits for a department lead; poll GET /v1/actions/{id}?wait=30 for the outcome.',
      tags: ['agents'], body: proposeBody, headers: idempotencyHeaders,
      response: { 200: proposalView, ...errors },
    },
  }, async (request) => {
    const agent = requireAgent(request.principal);
    const key = request.headers['idempotency-key'];
    const proposal = await service.propose(agent, request.body, typeof key === 'string' ? { idempotencyKey: key } : {});
    return toProposalView(proposal, reversible(proposal));
  });

  app.get('/v1/actions/:id', {
    schema: {
      summary: 'Read a proposal; with ?wait=SECONDS, wait until its status changes',
      tags: ['agents'], params: idParam, querystring: waitQuery,
      response: { 200: proposalView, ...errors },
    },
  }, async (request) => {
    let proposal = await service.getProposal(request.params.id).catch((error: unknown) => {
      if (request.principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'send "Authorization: Bearer <api key or token>"');
      throw error;
    });
    assertVisible(config, request.principal, proposal);
    if (request.query.wait !== undefined && request.query.wait > 0) {
      proposal = await service.waitForChange(proposal.id, proposal.status, request.query.wait * 1000);
    }
    return toProposalView(proposal, reversible(proposal));
  });

  app.get('/v1/workflows', {
    schema: {
      summary: 'The workflows the caller takes part in, with their actions and modes',
      tags: ['agents', 'people'],
      response: {
        200: z.object({ workflows: z.array(z.object({
          id: z.string(), description: z.string(), agent: z.string(), department: z.string(), owner: z.string(),
          mode: z.record(z.string(), z.string()), runbook: z.string(),
          actions: z.array(z.object({ name: z.string(), risk: z.string(), riskWhy: z.string(), reversible: z.boolean(), description: z.string(), params: z.unknown() })),
        })) }),
        401: errorBody,
      },
    },
  }, async (request) => {
    const principal = request.principal;
    if (principal === undefined) throw new PortcullisError('UNAUTHENTICATED', 'send "Authorization: Bearer <api key or token>"');
    const ids = principal.kind === 'agent'
      ? [...config.workflows.values()].filter((w) => w.agent === principal.agent.id).map((w) => w.id)
      : visibleWorkflows(config, principal.person);
    return {
      workflows: ids.map((id) => config.workflows.get(id)).filter((w) => w !== undefined).map((w) => ({
        id: w.id, description: w.description, agent: w.agent, department: w.department, owner: w.owner, mode: { ...w.mode }, runbook: w.runbook,
        actions: [...config.actions.values()].filter((a) => w.systems.includes(a.system)).map((a) => ({
          name: a.name, risk: a.risk, riskWhy: a.riskWhy, reversible: a.reversible, description: a.spec.description,
          params: z.toJSONSchema(a.spec.params, { io: 'input', unrepresentable: 'any' }),
        })),
      })),
    };
  });
}
