/** Agent routes: propose an action, read it, long-poll its outcome. */
import { z } from 'zod';
import type { GatewayService, ProposalRecord } from '../service/contracts.js';
import { requireAgent, requireCaller } from './auth.js';
import { callBodyLimit } from './limits.js';
import { errorBody } from './errors.js';
import { idParam, idempotencyHeaders, proposalView, proposeBody, toProposalView, waitQuery } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody, 503: errorBody };

export function registerActionRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;
  const { config } = service;
  const reversible = (p: ProposalRecord): boolean | undefined => config.actions.get(p.action)?.reversible;
  const undo = (p: ProposalRecord): string | undefined => config.actions.get(p.action)?.spec.undo;

  app.post('/v1/actions', {
    bodyLimit: callBodyLimit(config),
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
    return toProposalView(proposal, reversible(proposal), undo(proposal));
  });

  app.get('/v1/actions/:id', {
    schema: {
      summary: 'Read a proposal; with ?wait=SECONDS, wait until its status changes',
      tags: ['agents'], params: idParam, querystring: waitQuery,
      response: { 200: proposalView, ...errors },
    },
  }, async (request) => {
    let proposal = await service.proposalFor(requireCaller(request.principal), request.params.id);
    if (request.query.wait !== undefined && request.query.wait > 0) {
      proposal = await service.waitForChange(proposal.id, proposal.status, request.query.wait * 1000);
    }
    return toProposalView(proposal, reversible(proposal), undo(proposal));
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
    return {
      workflows: service.listWorkflows(requireCaller(request.principal)).map(({ workflow: w, actions }) => ({
        id: w.id, description: w.description, agent: w.agent, department: w.department, owner: w.owner, mode: { ...w.mode }, runbook: w.runbook,
        actions: actions.map((a) => ({
          name: a.name, risk: a.risk, riskWhy: a.riskWhy, reversible: a.reversible, description: a.spec.description,
          params: z.toJSONSchema(a.spec.params, { io: 'input', unrepresentable: 'any' }),
        })),
      })),
    };
  });
}
