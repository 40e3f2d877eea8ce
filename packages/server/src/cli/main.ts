/**
 * The `portcullis` command line. `runCli` returns the exit code instead of exiting, so tests
 * call it in-process. Exit codes follow one convention for every command (docs/cli.md): 0 ok,
 * 1 the check or the work failed (an invalid config included), 2 bad usage (a missing file,
 * a bad option or argument).
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { sha256Hex } from '@portcullis/core';
import { registerApprovalCommands } from './approval-commands.js';
import { registerSwitchCommands } from './switch-commands.js';
import { registerReportCommand } from './report-command.js';
import { registerWorkflowCommands } from './workflow-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerCheckCommand } from './check-command.js';
import { addExamples } from './examples.js';
import { registerInitCommand } from './init-command.js';
import type { CliHost } from './host.js';
import { registerVaultCommands } from './vault-commands.js';
import { registerMcpCommands } from './mcp-commands.js';
import { registerNotificationCommands } from './notification-commands.js';
import { registerRollbackCommand } from './rollback-command.js';
import { registerSimulateCommand } from './simulate-command.js';
import { EXIT, loadConfigOrExit } from './load-config.js';
import { processOutput, type Output } from './output.js';

/**
 * Resolves on SIGINT or SIGTERM. Call it before anything says the gateway is up: a supervisor
 * (or a test) that signals as soon as it reads "listening" must find the handlers installed,
 * not the default action that kills the process half-open. The handlers stay, so a second
 * signal while the gateway closes is taken too.
 */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** Why the gateway could not listen, and what to do. */
function listenProblem(error: NodeJS.ErrnoException, host: string, port: number): string {
  if (error.code === 'EADDRINUSE') return `cannot start: port ${port} on ${host} is already in use (another gateway?); stop what uses it, or pass -p PORT (or set server.port)`;
  if (error.code === 'EACCES') return `cannot start: no permission to listen on port ${port} on ${host}; use a port above 1023, or put a reverse proxy in front (see docs/operations.md)`;
  if (error.code === 'EADDRNOTAVAIL') return `cannot start: ${host} is not an address of this machine; pass --host (or set server.host)`;
  return `cannot start: listening on ${host}:${port} failed: ${error.message}`;
}

/** Builds the program. Commands that should fail set the exit code through `setExit`. */
export function createProgram(host: CliHost, output: Output, setExit: (code: number) => void, input: Readable = process.stdin): Command {
  const program = new Command('portcullis')
    .description('Portcullis: a gateway between AI agents and the production systems they act on.\nAgents propose actions; Portcullis checks grants, routes risky ones to a department lead, executes with credentials the agent never sees, and audits every step.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) })
    .version('0.1.0', '-V, --version', 'print the version')
    .exitOverride();

  program.command('start')
    .description('start the gateway with a config file')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('-p, --port <port>', 'listen on this port (overrides server.port and PORT)')
    .option('--host <host>', 'listen on this address (overrides server.host)')
    .action(async (opts: { config: string; port?: string; host?: string }) => {
      const config = loadConfigOrExit(host, opts.config, output, setExit);
      if (config === undefined) return;
      const stopped = untilStopped();
      const gateway = await host.openGateway(config, { logger: true, recover: true, serve: 'portcullis start' });
      for (const warning of gateway.warnings) output.err(`portcullis: warning: ${warning}`);
      const port = opts.port === undefined ? host.environment().port ?? config.server.port : Number(opts.port);
      const listenHost = opts.host ?? config.server.host;
      let address: string;
      try {
        address = await gateway.listen(port, listenHost);
      } catch (error) {
        // Whatever the gateway opened (MCP upstream processes included) is closed, so the process ends.
        await gateway.close();
        output.err(`portcullis: ${listenProblem(error as NodeJS.ErrnoException, listenHost, port)}`);
        setExit(EXIT.failed);
        return;
      }
      output.err(`portcullis: gateway listening on ${address} (config ${config.source})`);
      await stopped;
      await gateway.close();
    });

  program.command('demo')
    .description('run the lead-routing demo: a sample CRM, a governed workflow and a scripted agent; keeps serving until stopped')
    .option('-p, --port <port>', 'listen on this port (default PORT or 7300)')
    .option('--dir <dir>', 'where the demo keeps its files (recreated at each start)', '.portcullis/demo')
    .action(async (opts: { port?: string; dir: string }) => {
      const port = opts.port === undefined ? host.environment().port ?? 7300 : Number(opts.port);
      const stopped = untilStopped();
      const demo = await host.runDemo({ dir: opts.dir, port, output });
      await stopped;
      await demo.close();
    });

  program.command('validate <file>')
    .description('check a config file; errors name file:line:column, the path and the fix')
    .option('--online', 'also connect to the MCP upstreams (starting their commands: only for configs you trust) and check their tools\' risk, the tool names and SQL keys')
    .action(async (file: string, opts: { online?: boolean }) => {
      const config = loadConfigOrExit(host, file, output, setExit);
      if (config === undefined) return;
      output.out(`${file} is valid: ${config.workflows.size} workflow(s), ${config.systems.size} system(s), ${config.actions.size} action(s), ${config.agents.size} agent(s)`);
      const online = [...config.systems.values()].some((s) => s.kind === 'mcp');
      if (opts.online !== true) {
        if (online) output.out('MCP tools are listed only online: check their risk with `portcullis validate --online` (it starts the upstream commands) or `portcullis check`');
        return;
      }
      const problems = await host.checkOnline(config);
      for (const problem of problems) output.err(problem);
      if (problems.length > 0) { setExit(EXIT.failed); return; }
      output.out('online checks passed: MCP tools listed and their risk kept, tool names unique, SQL keys unique');
    });

  program.command('schema')
    .description('print the JSON Schema of portcullis.yaml (for editor completion)')
    .action(() => { output.out(JSON.stringify(host.configJsonSchema(), null, 2)); });

  program.command('keys').description('make API keys and tokens')
    .command('new')
    .description('print a new random API key (give it to the agent or person) and the keyHash/tokenHash to put in portcullis.yaml')
    .option('--prefix <prefix>', 'a prefix that says what the key is for', 'pc')
    .action((opts: { prefix: string }) => {
      const key = `${opts.prefix}_${randomBytes(24).toString('base64url')}`;
      output.out(`key:  ${key}\nhash: sha256:${sha256Hex(key)}`);
    });

  registerInitCommand(program, host, output, setExit);
  registerAuditCommands(program, host, output, setExit);
  registerApprovalCommands(program, host, output, setExit);
  registerSwitchCommands(program, host, output, setExit);
  registerReportCommand(program, host, output, setExit);
  registerWorkflowCommands(program, host, output, setExit);
  registerRollbackCommand(program, host, output, setExit);
  registerCheckCommand(program, host, output, setExit);
  registerSimulateCommand(program, host, output, setExit);
  registerVaultCommands(program, host, output, setExit, input);
  registerMcpCommands(program, host, output, setExit, { stdin: input, stdout: process.stdout }, untilStopped);
  registerNotificationCommands(program, host, output, setExit);
  addExamples(program);
  return program;
}

/**
 * Runs the CLI with `argv` (as process.argv) over `host` (the wiring builds it: wiring/main.ts);
 * `input` is what `vault set` reads. Resolves with the exit code.
 */
export async function runCli(host: CliHost, argv: readonly string[], output: Output = processOutput, input: Readable = process.stdin): Promise<number> {
  let code = 0;
  const program = createProgram(host, output, (c) => { code = c; }, input);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    // Commander's own refusals (unknown command or option, missing argument) are bad usage.
    if (error instanceof CommanderError) return error.exitCode === EXIT.ok ? EXIT.ok : EXIT.usage;
    output.err(`portcullis: ${(error as Error).message}`);
    return EXIT.failed;
  }
  return code;
}
