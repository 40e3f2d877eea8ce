/** The OpenAPI document is generated from the same zod schemas that validate requests. */
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

describe('GET /openapi.json', () => {
  it('documents every route with its request and error schemas', async () => {
    harness = await openHarness();
    const res = await harness.request(undefined, { method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz', '/metrics', '/readyz', '/v1/actions', '/v1/actions/{id}', '/v1/agents/{id}/disable', '/v1/agents/{id}/enable', '/v1/approvals', '/v1/approvals/{id}/approve', '/v1/approvals/{id}/reject', '/v1/audit', '/v1/audit/verify', '/v1/proposals/{id}/resolve', '/v1/proposals/{id}/rollback', '/v1/rollout', '/v1/runs', '/v1/runs/{id}/rollback', '/v1/status', '/v1/systems/check', '/v1/workflows', '/v1/workflows/{id}/deploy', '/v1/workflows/{id}/disable', '/v1/workflows/{id}/enable', '/v1/workflows/{id}/metrics', '/v1/workflows/{id}/promote', '/v1/workflows/{id}/rollout',
    ]);
    const rollback = doc.paths['/v1/runs/{id}/rollback']?.post;
    expect(JSON.stringify(rollback?.requestBody)).toContain('"reason"');
    expect(Object.keys(rollback?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '403', '404', '409']));
    const propose = doc.paths['/v1/actions']?.post;
    expect(JSON.stringify(propose?.requestBody)).toContain('"workflow"');
    expect(Object.keys(propose?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '404', '409', '413', '422', '503']));
  });

  it('lists a workflow\'s actions with their risk and param schema for its agent', async () => {
    harness = await openHarness();
    const res = await harness.request('agent', { method: 'GET', url: '/v1/workflows' });
    const workflows = res.json().workflows as Array<{ id: string; actions: Array<{ name: string; risk: string }> }>;
    expect(workflows.map((w) => w.id)).toEqual(['route-leads']);
    expect(workflows[0]?.actions.find((a) => a.name === 'crm.leads.delete')?.risk).toBe('high');
  });
});
