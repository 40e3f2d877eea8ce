/**
 * Conformance cases for the MCP gateway's tool pins and call generations (part of the ONE
 * suite in store-conformance.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Store, ToolPin } from './store.js';
import { T0, makeEvent, makeProposal, verifyStore } from './store-conformance-fixtures.js';

const pin = (system: string, tool: string, digest = 'a'.repeat(64)): ToolPin => ({ system, tool, digest, pinnedAt: T0, pinnedBy: 'cli' });

/** Registers the MCP cases. */
export function describeMcpConformance(getStore: () => Store): void {
  describe('mcp tool pins', () => {
    it('replaces the pins of one system atomically with its events, leaving other systems alone', async () => {
      const store = getStore();
      expect(await store.getToolPins('memory')).toEqual([]);
      await store.setToolPins('memory', [pin('memory', 'read_graph'), pin('memory', 'create_entities')], [makeEvent({ type: 'mcp.tools_pinned' })]);
      await store.setToolPins('files', [pin('files', 'read_file')], []);
      expect((await store.getToolPins('memory')).map((p) => p.tool)).toEqual(['create_entities', 'read_graph']);
      await store.setToolPins('memory', [pin('memory', 'read_graph', 'b'.repeat(64))], [makeEvent({ type: 'mcp.tools_pinned' })]);
      expect(await store.getToolPins('memory')).toEqual([pin('memory', 'read_graph', 'b'.repeat(64))]);
      expect(await store.getToolPins('files')).toEqual([pin('files', 'read_file')]);
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.type)).toEqual(['mcp.tools_pinned', 'mcp.tools_pinned']);
      expect((await verifyStore(store)).ok).toBe(true);
    });

    it('refuses a pin of another system and writes nothing', async () => {
      const store = getStore();
      await expect(store.setToolPins('memory', [pin('files', 'read_file')], [makeEvent({ type: 'mcp.tools_pinned' })])).rejects.toThrow();
      expect(await store.getToolPins('files')).toEqual([]);
      expect(await store.queryAudit({ limit: 10 })).toEqual([]);
    });
  });

  describe('mcp call generations', () => {
    it('starts at 0 and advances by compare-and-set, per agent and call', async () => {
      const store = getStore();
      expect(await store.getCallGeneration('bot', 'c1')).toBe(0);
      expect(await store.advanceCallGeneration('bot', 'c1', 1)).toBe(false);
      expect(await store.advanceCallGeneration('bot', 'c1', 0)).toBe(true);
      expect(await store.advanceCallGeneration('bot', 'c1', 0)).toBe(false);
      expect(await store.getCallGeneration('bot', 'c1')).toBe(1);
      expect(await store.advanceCallGeneration('bot', 'c1', 1)).toBe(true);
      expect(await store.getCallGeneration('bot', 'c1')).toBe(2);
      expect(await store.getCallGeneration('other', 'c1')).toBe(0);
      expect(await store.getCallGeneration('bot', 'c2')).toBe(0);
    });

    it('lets exactly one of two concurrent advances from the same generation win', async () => {
      const store = getStore();
      const results = await Promise.all([store.advanceCallGeneration('bot', 'c', 0), store.advanceCallGeneration('bot', 'c', 0)]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.getCallGeneration('bot', 'c')).toBe(1);
    });

    it('advances the generation with an outcome in its transaction, and not when the outcome does not apply', async () => {
      const store = getStore();
      const p = makeProposal({ agent: 'bot', status: 'executing' });
      await store.insertProposal(p, [makeEvent({ type: 'execution.started', proposalId: p.id })]);
      const outcome = { status: 'succeeded', updatedAt: T0 + 5, result: { ok: true } } as const;
      const events = [makeEvent({ type: 'execution.succeeded', proposalId: p.id })];
      // The status moved on (compare-and-set fails): neither the outcome nor the generation is written.
      expect(await store.updateProposal(p.id, 'approved', outcome, events, { advanceCall: { call: 'c', from: 0 } })).toBeUndefined();
      expect(await store.getCallGeneration('bot', 'c')).toBe(0);
      const saved = await store.updateProposal(p.id, 'executing', outcome, events, { advanceCall: { call: 'c', from: 0 } });
      expect(saved?.status).toBe('succeeded');
      expect(await store.getCallGeneration('bot', 'c')).toBe(1);
      expect(await store.getCallGeneration('other', 'c')).toBe(0);
      expect((await store.queryAudit({ limit: 10 })).map((e) => e.type)).toEqual(['execution.started', 'execution.succeeded']);
    });
  });
}
