/**
 * The one owner of status writes: a move takes a lifecycle edge of the core or is refused,
 * saves nothing when refused or beaten by another request, and announces what it saved.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openHarness, proposeAs, type Harness } from '../testing/harness.js';
import { moveProposal } from './proposal-moves.js';

let harness: Harness;
afterEach(async () => harness?.close());

const route = { workflow: 'route-leads', action: 'crm.leads.update', params: { ids: [1], set: { owner_id: 'rep-amara' } } };

describe('moveProposal', () => {
  it('refuses an edge the lifecycle does not have, and changes nothing', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route)).json().id as string;
    const { deps } = harness.gateway.service;
    const pending = await harness.gateway.store.getProposal(id);
    if (pending === undefined) throw new Error('no proposal');
    await expect(moveProposal(deps, pending, 'succeed', { updatedAt: harness.clock.now() }, [])).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect((await harness.gateway.store.getProposal(id))?.status).toBe('pending_approval');
  });

  it('takes the edge\'s target status, saves it once, and announces it on the change feed', async () => {
    harness = await openHarness();
    const id = (await proposeAs(harness, 'agent', route)).json().id as string;
    const { deps } = harness.gateway.service;
    const pending = await harness.gateway.store.getProposal(id);
    if (pending === undefined) throw new Error('no proposal');
    const announced = deps.changes.next('proposal', id, 5000);
    const saved = await moveProposal(deps, pending, 'expire', { updatedAt: harness.clock.now() }, []);
    expect(saved?.status).toBe('expired');
    expect(await announced).toEqual({ kind: 'proposal', id, status: 'expired' });
    // The same move again, from the status it no longer has, saves nothing.
    expect(await moveProposal(deps, pending, 'expire', { updatedAt: harness.clock.now() }, [])).toBeUndefined();
  });
});
