/**
 * The MCP gateway's tables in SQLite: tool pins and call generations. Writes must be called
 * inside a write of the write queue (so each is atomic with its audit events), reads anywhere.
 */
import type { AuditEventDraft } from '@portcullis/core';
import type { ToolPin } from '../store.js';
import type { Prepare, SqliteAuditLog } from './sqlite-audit.js';

interface PinRow {
  system: string;
  tool: string;
  digest: string;
  pinned_at: number;
  pinned_by: string;
}

/** Pin and call-generation statements over one connection. */
export interface SqliteMcpTables {
  getToolPins(system: string): ToolPin[];
  setToolPins(system: string, pins: readonly ToolPin[], events: readonly AuditEventDraft[]): void;
  getCallGeneration(agent: string, call: string): number;
  advanceCallGeneration(agent: string, call: string, from: number): boolean;
}

/** Creates the statements. */
export function createSqliteMcpTables(prepare: Prepare, audit: SqliteAuditLog): SqliteMcpTables {
  const generation = (agent: string, call: string): number => {
    const row = prepare('SELECT generation FROM mcp_call_generations WHERE agent = ? AND call = ?').get(agent, call) as { generation: number } | undefined;
    return row?.generation ?? 0;
  };
  return {
    getToolPins(system) {
      return (prepare('SELECT * FROM mcp_tool_pins WHERE system = ? ORDER BY tool').all(system) as PinRow[])
        .map((row) => ({ system: row.system, tool: row.tool, digest: row.digest, pinnedAt: row.pinned_at, pinnedBy: row.pinned_by }));
    },
    setToolPins(system, pins, events) {
      const wrong = pins.find((pin) => pin.system !== system);
      if (wrong !== undefined) throw new Error(`a pin of system "${wrong.system}" was passed to setToolPins("${system}")`);
      prepare('DELETE FROM mcp_tool_pins WHERE system = ?').run(system);
      const insert = prepare('INSERT INTO mcp_tool_pins (system, tool, digest, pinned_at, pinned_by) VALUES (?, ?, ?, ?, ?)');
      for (const pin of pins) insert.run(pin.system, pin.tool, pin.digest, pin.pinnedAt, pin.pinnedBy);
      audit.append(events);
    },
    getCallGeneration: generation,
    advanceCallGeneration(agent, call, from) {
      if (generation(agent, call) !== from) return false;
      prepare(`INSERT INTO mcp_call_generations (agent, call, generation) VALUES (?, ?, ?)
        ON CONFLICT (agent, call) DO UPDATE SET generation = excluded.generation`).run(agent, call, from + 1);
      return true;
    },
  };
}
