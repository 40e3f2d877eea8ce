/**
 * `portcullis mcp`: the MCP gateway over stdio for one agent (what MCP clients launch), and
 * `portcullis mcp pin`: an admin accepts the upstream tools as they are now. Invariants: the
 * stdio gateway serves only an agent whose API key was given (--key or PORTCULLIS_AGENT_KEY)
 * and matches the config; it writes nothing but JSON-RPC to standard output; pinning records
 * every listed tool's digest of the chosen systems, replacing their old pins, with an audit event.
 */
import type { Readable, Writable } from 'node:stream';
import { isPortcullisError } from '@portcullis/core';
import type { Command } from 'commander';
import type { CliHost } from './host.js';
import { loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

interface ServeOptions { config: string; agent?: string; key?: string }

/** Registers `mcp` and `mcp pin`. `stdio` is where the stdio gateway reads and writes JSON-RPC. */
export function registerMcpCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void, stdio: { stdin: Readable; stdout: Writable }, stop: () => Promise<unknown>): void {
  const mcp = program.command('mcp')
    .description('serve the MCP gateway over stdio for one agent (MCP clients launch this); `mcp pin` accepts the upstream tools')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('--agent <id>', 'the agent this process serves (required)')
    .option('--key <key>', 'the agent\'s API key; prefer the environment variable PORTCULLIS_AGENT_KEY, which `ps` does not show')
    .action(async (opts: ServeOptions) => {
      const fail = (message: string, code = 2): void => { output.err(`portcullis mcp: ${message}`); setExit(code); };
      if (opts.agent === undefined) { fail('--agent ID is required: the agent whose tools this process serves'); return; }
      const key = opts.key ?? host.environment().agentKey;
      if (key === undefined) { fail('no agent key: set PORTCULLIS_AGENT_KEY (or pass --key) to the API key of the agent'); return; }
      const config = loadConfigOrExit(host, opts.config, output, setExit);
      if (config === undefined) return;
      const agent = config.agents.get(opts.agent);
      if (agent === undefined) { fail(`no agent "${opts.agent}" in ${config.source}; configured agents: ${[...config.agents.keys()].join(', ') || '(none)'}`); return; }
      // Checked before anything starts (no upstream is launched for a wrong key).
      if (host.identifyAgent(config, key)?.id !== agent.id) { fail(`the key given is not the API key of agent "${agent.id}"`); return; }
      const gateway = await host.openGateway(config, { logger: false, recover: false });
      try {
        for (const warning of gateway.warnings) output.err(`portcullis mcp: warning: ${warning}`);
        output.err(`portcullis mcp: serving agent "${agent.id}" over stdio (config ${config.source})`);
        await host.serveMcpStdio(gateway, agent, stdio, stop());
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
      const config = loadConfigOrExit(host, path, output, setExit);
      if (config === undefined) return;
      const admin = await host.openAdmin({ config });
      try {
        const systems = admin.mcpSystems().filter((name) => opts.system === undefined || name === opts.system);
        if (systems.length === 0) {
          output.err(opts.system === undefined ? `${config.source} has no mcp systems` : `no mcp system "${opts.system}" in ${config.source}`);
          setExit(2);
          return;
        }
        setExit(await pinSystems(admin, systems, output, opts.dryRun === true));
      } finally {
        await admin.close();
      }
    });
}

async function pinSystems(admin: Awaited<ReturnType<CliHost['openAdmin']>>, systems: readonly string[], output: Output, dryRun: boolean): Promise<number> {
  let failed = 0;
  for (const system of systems) {
    let listed;
    try {
      listed = await admin.listTools(system);
    } catch (error) {
      if (!isPortcullisError(error)) throw error;
      output.err(error.message);
      failed += 1;
      continue;
    }
    const { tools, removed } = listed;
    const lines = tools.map((tool) => `  ${tool.name.padEnd(28)} ${tool.verb.padEnd(6)} grant ${`${system}:${tool.name}:${tool.verb}`.padEnd(44)} ${tool.digest.slice(0, 12)} ${tool.change}${tool.notOffered === undefined ? '' : ` (not offered: ${tool.notOffered})`}`);
    output.out(`${system}: ${tools.length} tool(s)${removed.length === 0 ? '' : `; no longer listed: ${removed.join(', ')}`}\n${lines.join('\n')}`);
    if (dryRun) continue;
    await admin.pinTools(system, tools);
    output.out(`${system}: pinned ${tools.length} tool(s); restart running gateways so they load them`);
  }
  return failed > 0 ? 1 : 0;
}
