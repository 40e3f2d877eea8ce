/** Waiting for a proposal to change leaves nothing behind on the gateway's stop signal, however many waits it served. */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';

let harness: Harness;
afterEach(async () => harness?.close());

describe('waitForChange', () => {
  it('removes its listener from the stop signal when each wait ends', async () => {
    harness = await openHarness();
    const { id } = (await proposeAs(harness, 'agent', { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } })).json();
    const stopping = new AbortController();
    for (let i = 0; i < 12; i += 1) {
      expect((await harness.gateway.service.waitForChange(id as string, 'pending_approval', 1, stopping.signal)).status).toBe('pending_approval');
    }
    expect(getEventListeners(stopping.signal, 'abort')).toHaveLength(0);
    stopping.abort();
    expect((await harness.gateway.service.waitForChange(id as string, 'pending_approval', 60_000, stopping.signal)).status).toBe('pending_approval');
  });
});
