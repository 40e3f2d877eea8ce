/**
 * `portcullis mcp`: the MCP gateway over stdio for one agent (what MCP clients launch), and
 * `portcullis mcp pin`: an admin accepts the upstream tools as they are now. Invariants: the
 * stdio gateway serves only an agent whose API key was given (--key or PORTCULLIS_AGENT_KEY)
 * and matches the config; it writes nothing but JSON-RPC to standard output; pinning records
 * every listed tool's digest of the chosen systems, replacing their old pins, with an audit event.
 */
import type { Readable, Writable } from 'node:stream';
import { sha256Hex } from '@portcullis/core';
import type { Command } from 'commander';
import { cliEnvironment } from '../config/cli-env.js';
import type { CompiledConfig, McpSystemConfig } from '../config/compiled.js';
import { classifyTool } from '../connectors/mcp/mcp-tools.js';
import { serveMcpStdio } from '../mcp/stdio.js';
import { systemClock } from '../runtime/clock.js';
import { openGateway, openStore, openVault } from '../runtime/gateway.js';
import { connectMcpSystem, pinsOf } from '../runtime/mcp-catalog.js';
import { loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

interface ServeOptions { config: string; agent?: string; key?: string }

/** Registers `mcp` and `mcp pin`. `stdio` is where the stdio gateway reads and writes JSON-RPC. */
export function registerMcpCommands(program: Command, output: Output, setExit: (code: number) => void, stdio: { stdin: Readable; stdout: Writable }, stop: () => Promise<unknown>): void {
  const mcp = program.command('mcp')
    .description('serve the MCP gateway over stdio for one agent (MCP clients launch this); `mcp pin` accepts the upstream tools')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('--agent <id>', 'the agent this process serves (required)')
    .option('--key <key>', 'the agent\'s API key; prefer the environment variable PORTCULLIS_AGENT_KEY, which `ps` does not show')
    .action(async (opts: ServeOptions) => {
      const fail = (message: string, code = 2): void => { output.err(`portcullis mcp: ${message}`); setExit(code); };
      if (opts.agent === undefined) { fail('--agent ID is required: the agent whose tools this process serves'); return; }
      const key = opts.key ?? cliEnvironment().agentKey;
      if (key === undefined) { fail('no agent key: set PORTCULLIS_AGENT_KEY (or pass --key) to the API key of the agent'); return; }
      const config = loadConfigOrExit(opts.config, output, setExit);
      if (config === undefined) return;
      const agent = config.agents.get(opts.agent);
      if (agent === undefined) { fail(`no agent "${opts.agent}" in ${config.source}; configured agents: ${[...config.agents.keys()].join(', ') || '(none)'}`); return; }
      if (sha256Hex(key) !== agent.keyHash) { fail(`the key given is not the API key of agent "${agent.id}"`); return; }
      const gateway = await openGateway(config, { recover: false });
      for (const warning of gateway.warnings) output.err(`portcullis mcp: warning: ${warning}`);
      output.err(`portcullis mcp: serving agent "${agent.id}" over stdio (config ${config.source})`);
      try {
        await serveMcpStdio(
          { service: gateway.service, gatewayUrl: `http://${config.server.host}:${config.server.port}` }, agent,
          stdio, stop(),
        );
      } finally {
        await gateway.close();
      }
    });

  mcp.command('pin')
    .description('list the tools of the MCP systems now and record their digests as accepted; a tool that differs later is blocked until pinned again')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('--system <name>', 'only this MCP system (default: all)')
    .option('--dry-run', 'show the tools and what would change, record nothing')
    .action(async (opts: { config: string; system?: string; dryRun?: boolean }, command: Command) => {
      // `mcp pin -c FILE`: commander gives -c to `mcp`, which declares it too.
      const path = command.getOptionValueSource('config') === 'cli' ? opts.config : (command.parent?.opts() as { config?: string } | undefined)?.config ?? opts.config;
      const config = loadConfigOrExit(path, output, setExit);
      if (config === undefined) return;
      const systems = [...config.systems.values()].filter((s): s is McpSystemConfig => s.kind === 'mcp' && (opts.system === undefined || s.name === opts.system));
      if (systems.length === 0) {
        output.err(opts.system === undefined ? `${config.source} has no mcp systems` : `no mcp system "${opts.system}" in ${config.source}`);
        setExit(2);
        return;
      }
      setExit(await pinSystems(config, systems, output, opts.dryRun === true));
    });
}

async function pinSystems(config: CompiledConfig, systems: readonly McpSystemConfig[], output: Output, dryRun: boolean): Promise<number> {
  const store = await openStore(config.store);
  let failed = 0;
  try {
    const vault = openVault(config, store, systemClock);
    for (const system of systems) {
      const connector = connectMcpSystem(system, { vault });
      try {
        const listed = await connector.discover();
        if (!listed.ok) { output.err(`${system.name}: ${listed.error}; nothing pinned`); failed += 1; continue; }
        const old = await pinsOf(store, system.name);
        const now = systemClock.now();
        const tools = [...connector.current().values()];
        const lines = tools.map(({ tool, digest }) => {
          const { verb } = classifyTool(tool.annotations);
          const change = !old.has(tool.name) ? (old.size === 0 ? '' : 'NEW') : old.get(tool.name) === digest ? '' : 'CHANGED';
          const refused = connector.rejected().get(tool.name);
          return `  ${tool.name.padEnd(28)} ${verb.padEnd(6)} grant ${`${system.name}:${tool.name}:${verb}`.padEnd(44)} ${digest.slice(0, 12)} ${change}${refused === undefined ? '' : ` (not offered: ${refused})`}`;
        });
        const removed = [...old.keys()].filter((name) => !tools.some((t) => t.tool.name === name));
        output.out(`${system.name}: ${tools.length} tool(s)${removed.length === 0 ? '' : `; no longer listed: ${removed.join(', ')}`}\n${lines.join('\n')}`);
        if (dryRun) continue;
        await store.setToolPins(system.name, tools.map(({ tool, digest }) => ({ system: system.name, tool: tool.name, digest, pinnedAt: now, pinnedBy: 'cli' })), [{
          type: 'mcp.tools_pinned', at: now, actor: { kind: 'system', id: 'cli' },
          data: { system: system.name, tools: tools.map(({ tool, digest }) => ({ name: tool.name, digest })), removed },
        }]);
        output.out(`${system.name}: pinned ${tools.length} tool(s); restart running gateways so they load them`);
      } finally {
        await connector.close();
      }
    }
  } finally {
    await store.close();
  }
  return failed > 0 ? 1 : 0;
}
