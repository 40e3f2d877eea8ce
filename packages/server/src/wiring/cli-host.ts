/**
 * The CLI's host: what the `portcullis` commands need, built from the wiring's factories. The
 * one place the CLI's commands meet the store, the vault, the connectors and the faces.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { cliEnvironment } from '../config/cli-env.js';
import type { PathSegment } from '../config/issues.js';
import { locatePath } from '../config/locate.js';
import type { CompiledConfig } from '../config/compiled.js';
import { configJsonSchema } from '../config/json-schema.js';
import { formatConfigErrors, loadConfigFile } from '../config/load.js';
import type { Env } from '../config/secrets.js';
import { environmentWithoutSecrets } from '../config/env.js';
import { STARTER_KINDS, starterConfig, type StarterKind } from '../config/starter.js';
import type { Connector } from '../connectors/connector.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import type { CliHost, RunningGateway } from '../cli/host.js';
import { runDemo, type DemoHost } from '../demo/demo.js';
import { serveMcpStdio } from '../mcp-gateway/stdio.js';
import { connectBridge, serveMcpBridge } from '../mcp-gateway/stdio-bridge.js';
import { createAdminService } from '../service/admin.js';
import { createConfiguredNotificationsAdmin } from '../channels/build.js';
import { identify } from '../service/callers.js';
import type { SystemCheck } from '../service/preflight.js';
import type { Store } from '../store/store.js';
import { readMasterKeyFile, writeNewMasterKeyFile } from '../vault/master-key.js';
import { writeNewSigningKeyFile } from '../audit-log/signing-key.js';
import { createVault, type Vault } from '../vault/vault.js';
import { systemClock } from './clock.js';
import { connectSystems, listOnlineActions, openGateway, openStore, openVault, startProblems, type Gateway } from './gateway.js';
import { simulate } from './simulate.js';
import { acquireServingLease } from './serving-lease.js';

/** Loads a config file with the registered system kinds; errors formatted for people. */
export function loadConfig(path: string, env?: Env): { ok: true; config: CompiledConfig } | { ok: false; message: string; unreadable: boolean } {
  const loaded = loadConfigFile(path, { kinds: SYSTEM_KINDS, ...(env === undefined ? {} : { env }) });
  // A position of 0 means the file itself could not be read.
  return loaded.ok ? loaded : { ok: false, message: formatConfigErrors(loaded.errors), unreadable: loaded.errors.some((error) => error.line === 0) };
}

/** Writes a starter config and its files, never overwriting (see CliHost.writeStarter). */
function writeStarter(path: string, kind: string): ReturnType<CliHost['writeStarter']> {
  const starter = starterConfig(kind as StarterKind);
  const files: Array<[string, string]> = [[path, starter.config], ...Object.entries(starter.files).map(([name, text]): [string, string] => [join(dirname(path), name), text])];
  const exists = files.find(([file]) => existsSync(file));
  if (exists !== undefined) return { ok: false, exists: exists[0] };
  mkdirSync(dirname(resolvePath(path)), { recursive: true });
  for (const [file, text] of files) writeFileSync(file, text, { flag: 'wx' });
  return { ok: true, files: files.map(([file]) => file), agent: starter.agent, workflow: starter.workflow, agentKey: starter.agentKey, leadToken: starter.leadToken };
}

/** Opens a gateway as the CLI and the demo use it. */
async function open(config: CompiledConfig, options: { logger: boolean; recover: boolean; serve?: string }): Promise<RunningGateway> {
  // Taken before anything is connected: a refused second process starts no upstream.
  const release = options.serve === undefined ? () => undefined : acquireServingLease(config.store, options.serve);
  let gateway: Gateway;
  try {
    gateway = await openGateway(config, { recover: options.recover, ...(options.logger ? { logger: { level: 'info' } } : {}) });
  } catch (error) {
    release();
    throw error;
  }
  return {
    service: gateway.service,
    warnings: gateway.warnings,
    listen: (port, host) => gateway.app.listen({ port, host }),
    close: async () => {
      try {
        await gateway.close();
      } finally {
        release();
      }
    },
  };
}

/**
 * The vault for `portcullis check`: when a master key is configured, its state is a row of the
 * table (a bad key fails the check, and the systems are checked with the vault locked).
 */
async function vaultForCheck(config: CompiledConfig, store: Store): Promise<{ vault: Vault; check?: SystemCheck; error?: Error }> {
  const configured = config.vault.envKey !== undefined || config.vault.keyFile !== undefined;
  try {
    const vault = openVault(config, store, systemClock);
    if (!configured) return { vault };
    const count = (await vault.list()).length;
    return { vault, check: { system: '(vault)', kind: 'vault', ok: true, detail: `master key ${vault.keyId ?? '?'}; ${count} secret(s) stored`, ms: 0 } };
  } catch (error) {
    return { vault: createVault({ store, key: undefined, clock: systemClock }), check: { system: '(vault)', kind: 'vault', ok: false, detail: (error as Error).message, ms: 0 }, error: error as Error };
  }
}

/**
 * A problem found online, as `file:line:column path: message` when it names a place in the
 * config (`actions["NAME"].risk: …`, `actions["NAME"]: …`, `workflows.ID.grants: …`), else
 * as `file: message`.
 */
function located(source: string, problem: string): string {
  const action = /^actions\["([^"]+)"\](\.risk)?: /.exec(problem);
  const grants = /^workflows\.([A-Za-z0-9_-]+)\.grants: /.exec(problem);
  const path: PathSegment[] | undefined = action !== null ? ['actions', action[1] as string, ...(action[2] === undefined ? [] : ['risk'])]
    : grants !== null ? ['workflows', grants[1] as string, 'grants'] : undefined;
  if (path === undefined) return `${source}: ${problem}`;
  try {
    const counter = new LineCounter();
    const doc = parseDocument(readFileSync(source, 'utf8'), { lineCounter: counter });
    const { line, column } = locatePath(doc, counter, path);
    return `${source}:${line}:${column} ${problem}`;
  } catch {
    return `${source}: ${problem}`;
  }
}

/** What only connecting finds wrong with a config (see CliHost.checkOnline): the checks the gateway runs at start, over a throwaway store. */
async function checkOnline(config: CompiledConfig): Promise<string[]> {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  const connectors = connectSystems(config, { vault: createVault({ store, key: undefined, clock: systemClock }), clock: systemClock });
  try {
    const listed = await listOnlineActions(config, connectors, { store, clock: systemClock });
    // What start refuses, and the write tools named like money or messages that start only leaves out.
    const problems = [...(await startProblems(listed)), ...listed.unclassed];
    return problems.map((problem) => located(config.source, problem));
  } finally {
    await Promise.allSettled([...connectors.values()].map((connector) => connector.close()));
    await store.close();
  }
}

/** The host the `portcullis` command runs over. */
export function createCliHost(): CliHost {
  return {
    environment: () => cliEnvironment(),
    loadConfig: (path) => loadConfig(path),
    loadConfigWithoutSecrets: (path) => loadConfig(path, environmentWithoutSecrets()),
    configJsonSchema: () => configJsonSchema(SYSTEM_KINDS),
    checkOnline,
    identifyAgent(config, key) {
      try {
        const caller = identify(config, key);
        return caller.kind === 'agent' ? caller.agent : undefined;
      } catch {
        return undefined;
      }
    },
    openGateway: open,
    async openAdmin(source) {
      if ('dbPath' in source) {
        const location = { kind: 'sqlite', path: source.dbPath } as const;
        const store = await openStore(location);
        return { ...createAdminService({ store, clock: systemClock, storeLocation: location }), close: () => store.close() };
      }
      const { config } = source;
      const store = await openStore(config.store);
      let connectors: ReadonlyMap<string, Connector> = new Map();
      try {
        const { vault, check, error } = await vaultForCheck(config, store);
        connectors = connectSystems(config, { vault, clock: systemClock, store });
        const notifications = createConfiguredNotificationsAdmin(config, { store, clock: systemClock, vault, actor: { kind: 'system', id: 'cli' } });
        const admin = createAdminService({
          store, clock: systemClock, storeLocation: config.store, config, vault, connectors,
          ...(check === undefined ? {} : { vaultCheck: check }), ...(error === undefined ? {} : { vaultError: error }), ...(notifications === undefined ? {} : { notifications }),
        });
        return {
          ...admin,
          async close() {
            // All at once, and whatever one does, the store is closed.
            await Promise.allSettled([...connectors.values()].map((connector) => connector.close()));
            await store.close();
          },
        };
      } catch (error) {
        await store.close();
        throw error;
      }
    },
    readMasterKeyFile,
    starterKinds: STARTER_KINDS,
    writeStarter,
    writeNewMasterKeyFile: (path) => ({ id: writeNewMasterKeyFile(path).id }),
    writeNewSigningKeyFile,
    async connectMcpBridge(target) {
      const upstream = await connectBridge(target);
      return { serve: (io, stop) => serveMcpBridge(upstream, target, io, stop) };
    },
    serveMcpStdio: (gateway, agent, io, stop) => {
      const { config } = gateway.service;
      return serveMcpStdio({ service: gateway.service, gatewayUrl: `http://${config.server.host}:${config.server.port}` }, agent, io, stop);
    },
    simulate: (script, options) => simulate(script, options),
    runDemo(options) {
      const wiring: DemoHost = {
        loadConfig: (path, env) => loadConfig(path, env),
        openGateway: (config) => open(config, { logger: false, recover: true }),
      };
      return runDemo({ ...options, wiring });
    },
  };
}
