/**
 * `portcullis mcp`: the MCP gateway over stdio for one agent (what MCP clients launch), and
 * `portcullis mcp pin`: an admin accepts the upstream tools as they are now. Invariants: by
 * default the stdio process bridges to the running gateway's /mcp (--url, else the config's
 * server address), so one process serves each store and runs each upstream; `--standalone`
 * serves from this process (its own upstreams), under the store's serving lease; either way
 * only an agent whose API key was given (--key or PORTCULLIS_AGENT_KEY) is served; it writes
 * nothing but JSON-RPC to standard output; pinning records every listed tool's digest of the
 * chosen systems, replacing their old pins, with an audit event.
 */
import type { Readable, Writable } from 'node:stream';
import { isPortcullisError } from '@portcullis/core';
import type { Command } from 'commander';
import type { CompiledConfig } from '../service/contracts.js';
import type { CliHost } from './host.js';
import { loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

interface ServeOptions { config: string; agent?: string; key?: string; url?: string; standalone?: boolean }

/** How long a bridged call may wait without progress beyond the hold time, in ms. */
const BRIDGE_MARGIN_MS = 60_000;

/** The address a client of a gateway listening on `host` connects to. */
const reachable = (host: string): string => (host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);

/** Registers `mcp` and `mcp pin`. `stdio` is where the stdio gateway reads and writes JSON-RPC. */
export function registerMcpCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void, stdio: { stdin: Readable; stdout: Writable }, stop: () => Promise<unknown>): void {
  const mcp = program.command('mcp')
    .description('serve the MCP gateway over stdio for one agent (MCP clients launch this), bridged to the running gateway (--url, else the config\'s server address), or --standalone; `mcp pin` accepts the upstream tools')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('--agent <id>', 'the agent this process serves (required)')
    .option('--key <key>', 'the agent\'s API key; prefer the environment variable PORTCULLIS_AGENT_KEY, which `ps` does not show')
    .option('--url <url>', 'the running gateway to bridge to (default: the config\'s server.host and server.port); the config is then not read')
    .option('--standalone', 'serve from this process, with its own upstream processes, when no gateway runs on the store (it takes the store\'s serving lease)')
    .action(async (opts: ServeOptions) => {
      const fail = (message: string, code = 2): void => { output.err(`portcullis mcp: ${message}`); setExit(code); };
      if (opts.agent === undefined) { fail('--agent ID is required: the agent whose tools this process serves'); return; }
      const key = opts.key ?? host.environment().agentKey;
      if (key === undefined) { fail('no agent key: set PORTCULLIS_AGENT_KEY (or pass --key) to the API key of the agent'); return; }
      if (opts.standalone === true && opts.url !== undefined) { fail('--url and --standalone exclude each other: bridge to the gateway at --url, or serve standalone'); return; }
      if (opts.standalone !== true && opts.url !== undefined) {
        // The gateway checks the key: the bridge needs no config (nor its secrets).
        await bridge(opts.url, key, undefined, opts.agent);
        return;
      }
      // A bridge uses no secret of the config: one that names variables this process lacks
      // (people's tokens, systems' credentials) is read without them, and the gateway checks
      // the key against --agent instead (x-portcullis-agent).
      let config: CompiledConfig | undefined;
      let bridgeOnly = false;
      if (opts.standalone !== true) {
        const strict = host.loadConfig(opts.config);
        const lenient = strict.ok || strict.unreadable ? undefined : host.loadConfigWithoutSecrets(opts.config);
        if (strict.ok) config = strict.config;
        else if (lenient?.ok === true) { config = lenient.config; bridgeOnly = true; }
      }
      config ??= loadConfigOrExit(host, opts.config, output, setExit);
      if (config === undefined) return;
      const agent = config.agents.get(opts.agent);
      if (agent === undefined) { fail(`no agent "${opts.agent}" in ${config.source}; configured agents: ${[...config.agents.keys()].join(', ') || '(none)'}`); return; }
      // Checked before anything starts (no upstream is launched for a wrong key).
      if (!bridgeOnly && host.identifyAgent(config, key)?.id !== agent.id) { fail(`the key given is not the API key of agent "${agent.id}"`); return; }
      if (opts.standalone !== true) {
        // The address `portcullis start` listens on by the same rule (PORT, else server.port).
        await bridge(`http://${reachable(config.server.host)}:${host.environment().port ?? config.server.port}`, key, config.mcp.holdMs, agent.id);
        return;
      }
      let gateway;
      try {
        gateway = await host.openGateway(config, { logger: false, recover: false, serve: 'portcullis mcp --standalone' });
      } catch (error) {
        if (!isPortcullisError(error, 'STORE_IN_USE')) throw error;
        fail(error.message, 1);
        return;
      }
      try {
        for (const warning of gateway.warnings) output.err(`portcullis mcp: warning: ${warning}`);
        output.err(`portcullis mcp: serving agent "${agent.id}" over stdio, standalone (config ${config.source})`);
        await host.serveMcpStdio(gateway, agent, stdio, stop());
      } finally {
        await gateway.close();
      }
    });

  /** Bridges stdio to the gateway at `url`; fails with exit 1 when it cannot be reached or refuses the key. */
  async function bridge(url: string, key: string, holdMs: number | undefined, agent: string): Promise<void> {
    const target = { url, key, agent, timeoutMs: (holdMs ?? 50_000) + BRIDGE_MARGIN_MS };
    let connected;
    try {
      connected = await host.connectMcpBridge(target);
    } catch (error) {
      output.err(`portcullis mcp: ${(error as Error).message}`);
      setExit(1);
      return;
    }
    output.err(`portcullis mcp: bridging stdio to the gateway at ${url}`);
    await connected.serve(stdio, stop());
  }

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
          const all = admin.mcpSystems();
          output.err(opts.system === undefined
            ? `${config.source} has no mcp systems: pinning records the tools of upstream MCP servers (systems with \`kind: mcp\`, docs/mcp.md); nothing to pin`
            : `no mcp system "${opts.system}" in ${config.source}${all.length === 0 ? ' (it has none; systems with `kind: mcp` are pinned)' : `; its mcp systems: ${all.join(', ')}`}`);
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
