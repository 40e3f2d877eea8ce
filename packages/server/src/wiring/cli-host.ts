/**
 * The CLI's host: what the `portcullis` commands need, built from the wiring's factories. The
 * one place the CLI's commands meet the store, the vault, the connectors and the faces.
 */
import { cliEnvironment } from '../config/cli-env.js';
import type { CompiledConfig } from '../config/compiled.js';
import { configJsonSchema } from '../config/json-schema.js';
import { formatConfigErrors, loadConfigFile } from '../config/load.js';
import type { Env } from '../config/secrets.js';
import type { Connector } from '../connectors/connector.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import type { CliHost, RunningGateway } from '../cli/host.js';
import { runDemo, type DemoHost } from '../demo/demo.js';
import { serveMcpStdio } from '../mcp-gateway/stdio.js';
import { createAdminService } from '../service/admin.js';
import type { SystemCheck } from '../service/preflight.js';
import type { Store } from '../store/store.js';
import { readMasterKeyFile, writeNewMasterKeyFile } from '../vault/master-key.js';
import { writeNewSigningKeyFile } from '../audit-log/signing-key.js';
import { createVault, type Vault } from '../vault/vault.js';
import { systemClock } from './clock.js';
import { connectSystems, openGateway, openStore, openVault } from './gateway.js';

/** Loads a config file with the registered system kinds; errors formatted for people. */
export function loadConfig(path: string, env?: Env): { ok: true; config: CompiledConfig } | { ok: false; message: string; unreadable: boolean } {
  const loaded = loadConfigFile(path, { kinds: SYSTEM_KINDS, ...(env === undefined ? {} : { env }) });
  // A position of 0 means the file itself could not be read.
  return loaded.ok ? loaded : { ok: false, message: formatConfigErrors(loaded.errors), unreadable: loaded.errors.some((error) => error.line === 0) };
}

/** Opens a gateway as the CLI and the demo use it. */
async function open(config: CompiledConfig, options: { logger: boolean; recover: boolean }): Promise<RunningGateway> {
  const gateway = await openGateway(config, { recover: options.recover, ...(options.logger ? { logger: { level: 'info' } } : {}) });
  return {
    service: gateway.service,
    warnings: gateway.warnings,
    listen: (port, host) => gateway.app.listen({ port, host }),
    close: () => gateway.close(),
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

/** The host the `portcullis` command runs over. */
export function createCliHost(): CliHost {
  return {
    environment: () => cliEnvironment(),
    loadConfig: (path) => loadConfig(path),
    configJsonSchema: () => configJsonSchema(SYSTEM_KINDS),
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
        const admin = createAdminService({ store, clock: systemClock, storeLocation: config.store, config, vault, connectors, ...(check === undefined ? {} : { vaultCheck: check }), ...(error === undefined ? {} : { vaultError: error }) });
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
    writeNewMasterKeyFile: (path) => ({ id: writeNewMasterKeyFile(path).id }),
    writeNewSigningKeyFile,
    serveMcpStdio: (gateway, agent, io, stop) => {
      const { config } = gateway.service;
      return serveMcpStdio({ service: gateway.service, gatewayUrl: `http://${config.server.host}:${config.server.port}` }, agent, io, stop);
    },
    runDemo(options) {
      const wiring: DemoHost = {
        loadConfig: (path, env) => loadConfig(path, env),
        openGateway: (config) => open(config, { logger: false, recover: true }),
      };
      return runDemo({ ...options, wiring });
    },
  };
}
