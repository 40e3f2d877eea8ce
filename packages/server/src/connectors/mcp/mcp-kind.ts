/** The `kind: mcp` system kind: an upstream MCP server, whose tools become actions when the gateway starts. */
import type { SystemKind } from '../connector.js';
import { connectMcpSystem, loadMcpCatalog } from './mcp-catalog.js';
import { compileMcpSystem, mcpGrantProblem, mcpSystemSchema, type McpSystemConfig, type McpSystemSettings } from './mcp-settings.js';

export const mcpKind: SystemKind<McpSystemConfig, McpSystemSettings> = {
  kind: 'mcp',
  settings: mcpSystemSchema,
  compile: compileMcpSystem,
  // Its tools are listed when the gateway starts (listActions); grants naming no tool are reported then.
  actionSpecs: () => [],
  listsActionsOnline: true,
  grantProblem: (_system, grant, written) => mcpGrantProblem(grant, written.explicit, written.override),
  connect: (system, deps) => connectMcpSystem(system, deps),
  listActions: (config, connectors, deps) => loadMcpCatalog(config, connectors, deps.store, deps.clock),
};
