/** The audit trail: query (people see their workflows' trail; admins all) and verify. */
import { z } from 'zod';
import type { GatewayService } from '../service/contracts.js';
import { requireCaller, requirePerson } from './auth.js';
import { errorBody } from './errors.js';
import { auditQuery, provenAuditEventView, toAuditEventView } from './schemas.js';
import type { TypedApp } from './typed-app.js';

export function registerAuditRoutes(app: TypedApp, deps: { service: GatewayService }): void {
  const { service } = deps;

  app.get('/v1/audit', {
    schema: {
      summary: 'Audit events, oldest first, filtered and paged (pass nextCursor as ?after= for the next page)',
      description: 'Department leads see the trail of their department\'s workflows without asking anyone; admins see everything. Each event carries its leaf index in the audit Merkle tree; with ?proof=true, also its RFC 6962 inclusion proof against the newest published signed checkpoint (docs/audit.md), which `portcullis audit check-proof` verifies with only the log\'s public key.',
      tags: ['people'], querystring: auditQuery,
      response: { 200: z.object({ events: z.array(provenAuditEventView), nextCursor: z.number().optional() }), 400: errorBody, 401: errorBody, 403: errorBody },
    },
  }, async (request) => {
    requirePerson(request.principal, 'read the audit trail');
    const q = request.query;
    const events = await service.queryAudit(requireCaller(request.principal), {
      limit: q.limit,
      ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
      ...(q.proposalId === undefined ? {} : { proposalId: q.proposalId }),
      ...(q.type === undefined ? {} : { type: q.type }),
      ...(q.actor === undefined ? {} : { actor: q.actor }),
      ...(q.from === undefined ? {} : { from: Date.parse(q.from) }),
      ...(q.to === undefined ? {} : { to: Date.parse(q.to) }),
      ...(q.after === undefined ? {} : { afterSeq: q.after }),
    });
    const last = events.at(-1);
    const proofs = q.proof === 'true' ? await service.proveAuditEvents(events) : undefined;
    const views = events.map((event) => {
      const view = toAuditEventView(event);
      const proof = proofs?.get(event.seq);
      if (proof === undefined) return view;
      return 'proof' in proof ? { ...view, proof: { ...proof.proof, inclusionProof: [...proof.proof.inclusionProof] } } : { ...view, proofUnavailable: proof.unavailable };
    });
    return { events: views, ...(events.length === q.limit && last !== undefined ? { nextCursor: last.seq } : {}) };
  });

  app.get('/v1/audit/verify', {
    schema: {
      summary: 'Verify the whole audit trail: its Merkle tree rebuilt from every event body matches the stored tree and head, no gaps, every column matches its body',
      tags: ['people'],
      response: {
        200: z.object({ ok: z.boolean(), count: z.number(), lastSeq: z.number().optional(), firstBad: z.object({ seq: z.number(), problem: z.string() }).optional() }),
        401: errorBody, 403: errorBody,
      },
    },
  }, async (request) => {
    requirePerson(request.principal, 'verify the audit trail');
    const result = await service.verifyAudit();
    return result.ok ? { ok: true, count: result.count, lastSeq: result.lastSeq } : { ok: false, count: result.count, firstBad: { seq: result.seq ?? result.checkpoint ?? 0, problem: result.problem } };
  });
}

