/** Operational routes: liveness and readiness. */
import { z } from 'zod';
import type { GatewayService } from '../service/contracts.js';
import type { TypedApp } from './typed-app.js';

export function registerOpsRoutes(typed: TypedApp, deps: { service: GatewayService }): void {
  typed.get('/healthz', {
    schema: { summary: 'Liveness: the process is serving', tags: ['operations'], security: [], response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  typed.get('/readyz', {
    schema: {
      summary: 'Readiness: the audit store can be written and its trail agrees with its published checkpoints. When not, the gateway executes nothing (fail closed).',
      tags: ['operations'], security: [],
      response: {
        200: z.object({ ready: z.literal(true), checks: z.record(z.string(), z.string()) }),
        503: z.object({ ready: z.literal(false), checks: z.record(z.string(), z.string()) }),
      },
    },
  }, async (_request, reply) => {
    const ready = await deps.service.readiness();
    if (ready.ok) return reply.status(200).send({ ready: true as const, checks: { store: 'writable' } });
    if (ready.check === 'audit') {
      return reply.status(503).send({ ready: false as const, checks: { store: 'writable', audit: `${ready.error}; the gateway refuses to execute anything until it is resolved (docs/audit.md)` } });
    }
    return reply.status(503).send({ ready: false as const, checks: { store: `not writable: ${ready.error}; the gateway refuses to execute anything until it is` } });
  });
}
