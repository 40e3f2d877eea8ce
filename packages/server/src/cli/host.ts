/**
 * What the CLI needs from the rest of the gateway, handed in by the wiring (wiring/main.ts):
 * the CLI parses arguments and prints, and never opens a store, a connector or the vault
 * itself. Types come from the service's contracts only.
 */
import type { Readable, Writable } from 'node:stream';
import type { AdminService, AgentConfig, CompiledConfig, GatewayService, SimulationOutcome } from '../service/contracts.js';
import type { Output } from './output.js';

/** A gateway opened by the CLI. */
export interface RunningGateway {
  readonly service: GatewayService;
  /** What starting found wrong but served around (an MCP upstream that could not be listed…). */
  readonly warnings: readonly string[];
  /** Serves the HTTP API (and /mcp); resolves with the address. @throws when the port cannot be bound */
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

/** The environment variables the CLI reads (read by the config module). */
export interface CliEnvironment {
  /** The gateway's URL for client commands (PORTCULLIS_URL, else 127.0.0.1 and PORT or 7300). */
  readonly url: string;
  /** The person's token (PORTCULLIS_TOKEN). */
  readonly token?: string;
  /** PORT. */
  readonly port?: number;
  /** The agent's key for `portcullis mcp` (PORTCULLIS_AGENT_KEY). */
  readonly agentKey?: string;
}

/** The services the CLI's commands use. */
export interface CliHost {
  environment(): CliEnvironment;
  /**
   * Loads and compiles a config file; errors formatted as `file:line:column path: problem`.
   * `unreadable`: the file is missing or cannot be read (bad usage), not invalid.
   */
  loadConfig(path: string): { ok: true; config: CompiledConfig } | { ok: false; message: string; unreadable: boolean };
  /**
   * Loads a config for what it says besides secrets (agents, the server's address), for a
   * process that uses none of them (the bridging `portcullis mcp`): environment variables it
   * names and this process does not have (people's tokens, systems' credentials) are taken as
   * unset placeholders instead of failing the load.
   */
  loadConfigWithoutSecrets(path: string): { ok: true; config: CompiledConfig } | { ok: false; message: string; unreadable: boolean };
  /** The agent an API key belongs to under `config`, if it is an agent's key (the service's one rule of identity). */
  identifyAgent(config: CompiledConfig, key: string): AgentConfig | undefined;
  /**
   * What only connecting finds wrong with a config: MCP tools whose risk an override or a grant
   * would lower, tool names that clash, SQL keys that are not unique. Starts the configured
   * MCP upstream commands (for configs you trust); writes no store. Empty when nothing is wrong.
   */
  checkOnline(config: CompiledConfig): Promise<string[]>;
  /** The JSON Schema of portcullis.yaml. */
  configJsonSchema(): Record<string, unknown>;
  /**
   * Opens a gateway (`recover: false` for a second process beside a running one). With `serve`
   * (the command's name), it first takes the store's serving lease, released when it closes.
   * @throws PortcullisError STORE_IN_USE when another live process serves the store (naming it)
   */
  openGateway(config: CompiledConfig, options: { logger: boolean; recover: boolean; serve?: string }): Promise<RunningGateway>;
  /**
   * Opens the operator's use cases over a config's store, or straight over an audit database
   * file (audit commands only). Close it when done.
   * @throws PortcullisError STORE_UNAVAILABLE, SECRET_UNAVAILABLE (a malformed master key)
   */
  openAdmin(source: { readonly config: CompiledConfig } | { readonly dbPath: string }): Promise<AdminService & { close(): Promise<void> }>;
  /** Reads a master key file (for `vault rotate-key`). @throws PortcullisError SECRET_UNAVAILABLE */
  readMasterKeyFile(path: string): Parameters<NonNullable<AdminService['vault']>['rotateKey']>[0];
  /** Writes a new random master key to a new file with mode 0600; returns its id. */
  writeNewMasterKeyFile(path: string): { id: string };
  /** Writes a new Ed25519 checkpoint signing key named `name` to a new file with mode 0600; returns its public key's text. @throws Error when the file exists */
  writeNewSigningKeyFile(path: string, name: string): string;
  /**
   * Connects to a running gateway's /mcp with an agent's key, for `portcullis mcp` to bridge
   * stdio to it (`serve` until the client closes or `stop` resolves).
   * @throws Error naming the URL and the fix when it cannot be reached or refuses the key
   */
  connectMcpBridge(target: { url: string; key: string; timeoutMs: number; agent?: string }): Promise<{ serve(io: { stdin: Readable; stdout: Writable }, stop: Promise<unknown>): Promise<void> }>;
  /** Serves the MCP gateway for `agent` over stdio until `stop` resolves. */
  serveMcpStdio(gateway: RunningGateway, agent: AgentConfig, io: { stdin: Readable; stdout: Writable }, stop: Promise<unknown>): Promise<void>;
  /** The system kinds `portcullis init` can start from. */
  readonly starterKinds: readonly string[];
  /**
   * Writes a starter config for system kind `kind` at `path` (and the files it names, beside
   * it), with a new agent key and lead token whose hashes it holds; never overwrites: when any
   * of the files exists, writes nothing and says which in `exists`.
   */
  writeStarter(path: string, kind: string): { ok: true; files: readonly string[]; agent: string; workflow: string; agentKey: string; leadToken: string } | { ok: false; exists: string };
  /**
   * Replays a simulation script (docs/simulate.md) on a fresh store in `dir` (kept; it must be
   * new or empty) or in a temporary directory (removed after). A script that cannot be read or
   * is invalid, or a `dir` that is not empty, is refused with every problem, and nothing runs.
   */
  simulate(script: string, options: { dir?: string }): Promise<SimulationOutcome>;
  /** Runs the lead-routing demo; serves until closed. */
  runDemo(options: { dir: string; port: number; output: Output }): Promise<{ close(): Promise<void> }>;
}
