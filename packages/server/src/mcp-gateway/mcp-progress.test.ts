/**
 * A held call keeps the client informed: with a short `mcp.progressInterval`, a call that needs
 * approval receives a progress notification at once and then one per interval until its hold
 * time ends (counted against hold / interval, not timed), over both transports, in front of
 * the reference memory server.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRANSPORTS, heldCall, resultText, openMemoryAgent } from '../testing/mcp-servers.js';

const HOLD_S = 5;
const INTERVAL_S = 1;

describe.each(TRANSPORTS)('over %s', (transport) => {
  let opened: Awaited<ReturnType<typeof openMemoryAgent>> | undefined;
  let bot: Client;

  beforeAll(async () => {
    opened = await openMemoryAgent(transport, { holdTime: `${HOLD_S}s`, progressInterval: `${INTERVAL_S}s` });
    ({ bot } = opened);
  }, 60_000);

  afterAll(async () => opened?.close());

  it('sends a progress notification every interval throughout the hold, then answers pending', async () => {
    const call = heldCall(bot, 'create_entities', { entities: [{ name: 'Ada', entityType: 'person', observations: [] }] });
    const id = await call.proposal;
    const result = await call.result;
    expect(resultText(result)).toMatch(/^PENDING - not done yet/);
    const expected = HOLD_S / INTERVAL_S;
    // Timers fire late on a busy machine, never early: at least half the intervals, at most one per interval and the first.
    expect(call.progress.length).toBeGreaterThanOrEqual(expected / 2);
    expect(call.progress.length).toBeLessThanOrEqual(expected + 1);
    expect(call.progress.every((message) => message.startsWith(`proposal ${id} is pending approval`))).toBe(true);
  }, 30_000);
});
