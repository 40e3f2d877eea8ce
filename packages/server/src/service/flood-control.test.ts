/**
 * Flood control on the HTTP API (the MCP faces share it: mcp-flood.test.ts): proposals per
 * agent per minute answer 429 RATE_LIMITED with Retry-After (the limiter counts real time:
 * the test fakes `Date` and moves it with the injected clock); the caps of
 * pending approvals per agent and per workflow refuse new proposals that need approval with
 * TOO_MANY_PENDING and an audited `alert.raised` event, and storing nothing.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { auditTrail, harnessConfig, openHarness, proposeAs, type Harness } from '../testing/harness.js';

const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-kenji' } }, reason: 'region match' });
const read = { workflow: 'route-leads', action: 'crm.leads.read', params: {} };
const withLimits = (limits: string): string => harnessConfig().replace('version: 1\n', `version: 1\nlimits: ${limits}\n`);

let harness: Harness;
afterEach(async () => { vi.useRealTimers(); await harness?.close(); });

/** Moves the injected clock and the real one the rate limiter reads. */
const advance = (ms: number): void => {
  harness.clock.advance(ms);
  vi.setSystemTime(Date.now() + ms);
};

describe('proposals per minute per agent', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the limit, and takes proposals again once the minute has passed', async () => {
    harness = await openHarness({ configYaml: withLimits('{ proposalsPerMinute: 3 }') });
    vi.useFakeTimers({ toFake: ['Date'] });
    for (let i = 0; i < 3; i += 1) {
      expect((await proposeAs(harness, 'agent', read)).statusCode).toBe(200);
      advance(10_000);
    }
    const limited = await proposeAs(harness, 'agent', read);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({ code: 'RATE_LIMITED' });
    expect(limited.json().error.message).toContain('agent "lead-router" made 3 proposals in the last minute, the most this gateway takes (limits.proposalsPerMinute); retry after 30 s');
    // The window opened at the first of the three, 30 s ago: it closes 30 s from now.
    expect(limited.headers['retry-after']).toBe('30');
    // A retry of a proposal already made (same Idempotency-Key) is not a new one.
    advance(30_000);
    expect((await proposeAs(harness, 'agent', read, 'k1')).statusCode).toBe(200);
    expect((await proposeAs(harness, 'agent', read, 'k1')).statusCode).toBe(200);
    advance(60_000);
    expect((await proposeAs(harness, 'agent', read)).statusCode).toBe(200);
    const refused = (await auditTrail(harness)).filter((e) => e.type === 'request.invalid').map((e) => e.data.code);
    expect(refused).toEqual(['RATE_LIMITED']);
  });
});

describe('caps of pending approvals', () => {
  it('refuses a proposal that needs approval past the agent\'s cap with TOO_MANY_PENDING and an audited alert; reads still run', async () => {
    harness = await openHarness({ configYaml: withLimits('{ maxPendingPerAgent: 2, maxPendingPerWorkflow: 10 }') });
    expect((await proposeAs(harness, 'agent', route(1))).json().status).toBe('pending_approval');
    expect((await proposeAs(harness, 'agent', route(2))).json().status).toBe('pending_approval');
    const refused = await proposeAs(harness, 'agent', route(3));
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.code).toBe('TOO_MANY_PENDING');
    expect(refused.json().error.message).toContain('agent "lead-router" already has 2 proposals waiting for approval, the most this gateway holds (limits.maxPendingPerAgent)');
    expect(await harness.gateway.store.countProposals({ workflow: 'route-leads' })).toBe(2);
    const trail = await auditTrail(harness);
    const alerts = trail.filter((e) => e.type === 'alert.raised');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.data).toMatchObject({ kind: 'pending_cap_reached', agent: 'lead-router', cap: 2, setting: 'limits.maxPendingPerAgent' });
    // The alert is the refusal's one audit event.
    expect(trail.filter((e) => e.type === 'request.invalid')).toHaveLength(0);
    // A looping agent raises one alert an hour, not one per refusal; each later refusal is audited.
    expect((await proposeAs(harness, 'agent', route(4))).statusCode).toBe(429);
    const after = await auditTrail(harness);
    expect(after.filter((e) => e.type === 'alert.raised')).toHaveLength(1);
    expect(after.filter((e) => e.type === 'request.invalid').map((e) => e.data.code)).toEqual(['TOO_MANY_PENDING']);
    expect((await proposeAs(harness, 'agent', read)).statusCode).toBe(200);
    // Once a lead decides one, there is room again.
    const pending = await harness.gateway.store.listProposals({ status: 'pending_approval', agent: 'lead-router' });
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${pending[0]?.id ?? ''}/reject`, payload: { reason: 'no' } });
    expect((await proposeAs(harness, 'agent', route(3))).json().status).toBe('pending_approval');
  });

  it('refuses past the workflow\'s cap naming the workflow', async () => {
    harness = await openHarness({ configYaml: withLimits('{ maxPendingPerAgent: 10, maxPendingPerWorkflow: 1 }') });
    expect((await proposeAs(harness, 'agent', route(1))).json().status).toBe('pending_approval');
    const refused = await proposeAs(harness, 'agent', route(2));
    expect(refused.statusCode).toBe(429);
    expect(refused.json().error.message).toContain('workflow "route-leads" already has 1 proposals waiting for approval, the most this gateway holds (limits.maxPendingPerWorkflow)');
    expect((await auditTrail(harness)).filter((e) => e.type === 'alert.raised').map((e) => e.data.setting)).toEqual(['limits.maxPendingPerWorkflow']);
  });
});
