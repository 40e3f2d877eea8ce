/** People's routes: the approval inbox and decisions. */
import { PortcullisError } from '@portcullis/core';
import { z } from 'zod';
import type { GatewayService } from '../service/contracts.js';
import { requireCaller, requirePerson } from './auth.js';
import { errorBody } from './errors.js';
import { decisionBody, idParam, listApprovalsQuery, proposalView, rejectBody, resolveBody, toProposalView } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 410: errorBody, 502: errorBody, 503: errorBody };

export function registerApprovalRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;
  const { config } = service;
  const reversible = (action: string): boolean | undefined => config.actions.get(action)?.reversible;
  const undo = (action: string): string | undefined => config.actions.get(action)?.spec.undo;

  app.get('/v1/approvals', {
    schema: {
      summary: 'Proposals in the caller\'s workflows, pending approval by default',
      tags: ['people'], querystring: listApprovalsQuery,
      response: { 200: z.object({ proposals: z.array(proposalView) }), 401: errorBody, 403: errorBody },
    },
  }, async (request) => {
    requirePerson(request.principal);
    const { status, workflow, limit } = request.query;
    const proposals = await service.listProposals(requireCaller(request.principal), { status, limit, ...(workflow === undefined ? {} : { workflow }) });
    // A pending one shows what it would change, read now: the old and new values side by side (rule 3).
    const changes = await Promise.all(proposals.map((p) => (p.status === 'pending_approval' ? service.previewChanges(p) : undefined)));
    return { proposals: proposals.map((p, i) => toProposalView(p, reversible(p.action), undo(p.action), changes[i])) };
  });

  app.post('/v1/approvals/:id/approve', {
    schema: {
      summary: 'Approve a pending proposal; the gateway then executes it and returns the outcome',
      description: 'Only a lead or delegate of the workflow\'s department may approve. The approval binds the proposal\'s digest (send the digest you were shown to make sure it is what you approve) and is single-use. The body is optional: without one, the approval carries no reason.',
      tags: ['people'], params: idParam, body: decisionBody.nullish(),
      response: { 200: proposalView, ...errors },
    },
  }, async (request) => {
    const person = requirePerson(request.principal);
    const body = request.body ?? {};
    const proposal = await service.approve(person, request.params.id, { reason: body.reason ?? '', ...(body.digest === undefined ? {} : { digest: body.digest }) });
    return toProposalView(proposal, reversible(proposal.action), undo(proposal.action));
  });

  app.post('/v1/approvals/:id/reject', {
    schema: {
      summary: 'Reject a pending proposal, with a reason; nothing runs',
      tags: ['people'], params: idParam, body: rejectBody,
      response: { 200: proposalView, ...errors },
    },
  }, async (request) => {
    const person = requirePerson(request.principal);
    if (request.body.reason.trim() === '') throw new PortcullisError('INVALID_REQUEST', 'body.reason: say why the proposal is rejected');
    const proposal = await service.reject(person, request.params.id, { reason: request.body.reason, ...(request.body.digest === undefined ? {} : { digest: request.body.digest }) });
    return toProposalView(proposal, reversible(proposal.action), undo(proposal.action));
  });

  app.post('/v1/proposals/:id/resolve', {
    schema: {
      summary: 'Resolve a proposal whose outcome is unknown, as succeeded or failed, with a note',
      description: 'Only a lead of the workflow\'s department or an admin may resolve, and only a proposal in outcome_unknown. Check the system itself first; the note says what you found. Audited as outcome.resolved; an agent waiting on the proposal is told.',
      tags: ['people'], params: idParam, body: resolveBody,
      response: { 200: proposalView, ...errors },
    },
  }, async (request) => {
    const person = requirePerson(request.principal);
    if (request.body.note.trim() === '') throw new PortcullisError('INVALID_REQUEST', 'body.note: say what you found in the system');
    const proposal = await service.resolve(person, request.params.id, { as: request.body.as, note: request.body.note });
    return toProposalView(proposal, reversible(proposal.action), undo(proposal.action));
  });
}
