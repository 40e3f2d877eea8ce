/**
 * GET /metrics, scraped as Prometheus would and parsed by an independent parser of the text
 * format: the counters move as proposals run, the gauges say what is pending and disabled.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

async function scrape(h: Harness) {
  const res = await h.request(undefined, { method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusTextFormat(res.body);
  const value = (name: string, labels: Record<string, string> = {}): number | undefined => {
    const family = families.find((f) => f.name === name);
    const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return sample === undefined ? undefined : Number(sample.value ?? sample.count);
  };
  /** One sample line as exposed (the parser merges a labelled histogram's series, so those are read off the text). */
  const line = (sample: string): string | undefined => res.body.split('\n').find((l) => l.startsWith(`${sample} `))?.slice(sample.length + 1);
  return { families, value, line };
}

const route = (id: number) => ({ workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [id], set: { owner_id: 'rep-amara' } } });

describe('GET /metrics', () => {
  it('counts proposals by workflow and status as they run, and reports the gauges', async () => {
    harness = await openHarness();
    const before = await scrape(harness);
    expect(before.value('portcullis_proposal_transitions_total', { workflow: 'route-leads', status: 'pending_approval' })).toBeUndefined();
    expect(before.value('portcullis_audit_store_writable')).toBe(1);
    expect(before.families.some((f) => f.name === 'process_cpu_user_seconds_total')).toBe(true);

    const first = (await proposeAs(harness, 'agent', route(1))).json();
    await proposeAs(harness, 'agent', route(2));
    await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.read', params: { ids: [1] } });
    let now = await scrape(harness);
    expect(now.value('portcullis_proposal_transitions_total', { workflow: 'route-leads', status: 'pending_approval' })).toBe(2);
    expect(now.value('portcullis_proposal_transitions_total', { workflow: 'route-leads', status: 'succeeded' })).toBe(1);
    expect(now.value('portcullis_pending_approvals', { workflow: 'route-leads' })).toBe(2);

    harness.clock.advance(90_000);
    await harness.request('dana', { method: 'POST', url: `/v1/approvals/${first.id}/approve`, payload: {} });
    now = await scrape(harness);
    expect(now.value('portcullis_proposal_transitions_total', { workflow: 'route-leads', status: 'approved' })).toBe(1);
    expect(now.value('portcullis_proposal_transitions_total', { workflow: 'route-leads', status: 'succeeded' })).toBe(2);
    expect(now.value('portcullis_pending_approvals', { workflow: 'route-leads' })).toBe(1);
    expect(now.families.find((f) => f.name === 'portcullis_approval_wait_seconds')?.type).toBe('HISTOGRAM');
    const series = 'workflow="route-leads",decision="approved"';
    expect(now.line(`portcullis_approval_wait_seconds_count{${series}}`)).toBe('1');
    expect(now.line(`portcullis_approval_wait_seconds_sum{${series}}`)).toBe('90');
    expect(now.line(`portcullis_approval_wait_seconds_bucket{le="60",${series}}`)).toBe('0');
    expect(now.line(`portcullis_approval_wait_seconds_bucket{le="300",${series}}`)).toBe('1');
    expect(now.families.find((f) => f.name === 'portcullis_execution_duration_seconds')?.type).toBe('HISTOGRAM');

    await harness.request('dana', { method: 'POST', url: '/v1/workflows/route-leads/disable', payload: { reason: 'checking the metrics' } });
    now = await scrape(harness);
    expect(now.value('portcullis_workflow_disabled', { workflow: 'route-leads' })).toBe(1);
    expect(now.value('portcullis_pending_approvals', { workflow: 'route-leads' })).toBe(0);
    expect(now.value('portcullis_proposal_transitions_total', { workflow: 'route-leads', status: 'cancelled' })).toBe(1);
    expect(now.value('portcullis_audit_events')).toBeGreaterThan(10);
  });
});
