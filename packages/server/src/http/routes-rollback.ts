/**
 * Rollback routes: a person with the role rolls back one executed proposal or a whole run.
 * Their request is the approval (no second person is asked); the service audits it, and refuses
 * before anything changes what cannot be rolled back.
 */
import { PortcullisError } from '@portcullis/core';
import { z } from 'zod';
import type { GatewayService } from '../service/contracts.js';
import type { Principal } from './auth.js';
import { requirePerson } from './auth.js';
import { errorBody } from './errors.js';
import { idParam } from './schemas.js';
import type { TypedApp } from './typed-app.js';

const rollbackBody = z.strictObject({
  reason: z.string().min(1, 'say why you roll back').max(2000).describe('why; kept in the audit trail'),
});

const drifted = z.object({ record: z.string().describe('the record, as its system names it'), why: z.string() });

const rollbackStep = z.object({
  proposalId: z.string(),
  action: z.string(),
  outcome: z.enum(['rolled_back', 'drifted', 'failed']).describe('rolled_back: something was undone (the proposal is now rolled_back); drifted: every record changed since, nothing undone; failed: see error'),
  undone: z.array(z.string()).readonly().describe('the records put back'),
  drifted: z.array(drifted).readonly().describe('the records left alone because they changed since the action'),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
}).describe('RollbackStep');

const rollbackReport = z.object({
  outcome: z.enum(['rolled_back', 'partial', 'none']).describe('rolled_back: everything was put back; partial: some records drifted or a failure stopped the run; none: nothing was undone'),
  runId: z.string().optional(),
  steps: z.array(rollbackStep).readonly().describe('in the order they ran: a run\'s newest execution first'),
  notAttempted: z.array(z.string()).readonly().describe('proposal ids a failure left untouched'),
}).describe('RollbackReport');

const errors = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 503: errorBody };

function requireRollbackPerson(principal: Principal | undefined) {
  if (principal?.kind === 'agent') throw new PortcullisError('FORBIDDEN', 'agents cannot roll back; a person with the role (a lead or delegate of the workflow\'s department, the agent\'s technical owner, an admin) does, with their own token');
  return requirePerson(principal);
}

/** Registers POST /v1/proposals/{id}/rollback and POST /v1/runs/{id}/rollback. */
export function registerRollbackRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;

  app.post('/v1/proposals/:id/rollback', {
    schema: {
      summary: 'Roll back one executed proposal, with a reason',
      description: 'A lead or delegate of the workflow\'s department, the agent\'s technical owner or an admin rolls back a succeeded proposal; their request is the approval. Records changed since the action are left alone and reported as drifted. 409 NOT_REVERSIBLE (naming the manual fallback) for an irreversible action, 409 ILLEGAL_TRANSITION for one that is not succeeded (e.g. rolled back already); nothing changes then.',
      tags: ['people'], params: idParam, body: rollbackBody,
      response: { 200: rollbackReport, ...errors },
    },
  }, async (request) => {
    const person = requireRollbackPerson(request.principal);
    return service.rollbackProposal(person, request.params.id, { reason: request.body.reason });
  });

  app.post('/v1/runs/:id/rollback', {
    schema: {
      summary: 'Roll back every executed write of a run, newest first, with a reason',
      description: 'Stops at the first failure; the report says what was undone, what drifted and what was not attempted (audited as run.rolled_back). Refused before anything changes while a proposal of the run is open, or when one of its writes is irreversible (409 NOT_REVERSIBLE naming it and the manual fallback).',
      tags: ['people'], params: idParam, body: rollbackBody,
      response: { 200: rollbackReport, ...errors },
    },
  }, async (request) => {
    const person = requireRollbackPerson(request.principal);
    return service.rollbackRun(person, request.params.id, { reason: request.body.reason });
  });
}
