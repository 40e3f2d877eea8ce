/** `portcullis check`: the pre-flight check of the vault and every system, as a table; exit 1 if any fails. */
import type { Command } from 'commander';
import { connectSystems, openStore, openVault } from '../runtime/gateway.js';
import { systemClock } from '../runtime/clock.js';
import type { CompiledConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import { checkSystems, formatCheckTable, type SystemCheck } from '../service/preflight.js';
import type { Store } from '../store/store.js';
import { createVault, type Vault } from '../vault/vault.js';
import { loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

/**
 * Opens the vault for the checks. When a master key is configured, its state is a row of the
 * table (a bad key fails the check, and the systems are checked with the vault locked).
 */
async function checkVault(config: CompiledConfig, store: Store): Promise<{ vault: Vault; check?: SystemCheck }> {
  const configured = config.vault.envKey !== undefined || config.vault.keyFile !== undefined;
  try {
    const vault = openVault(config, store, systemClock);
    if (!configured) return { vault };
    const count = (await vault.list()).length;
    return { vault, check: { system: '(vault)', kind: 'vault', ok: true, detail: `master key ${vault.keyId ?? '?'}; ${count} secret(s) stored`, ms: 0 } };
  } catch (error) {
    return { vault: createVault({ store, key: undefined, clock: systemClock }), check: { system: '(vault)', kind: 'vault', ok: false, detail: (error as Error).message, ms: 0 } };
  }
}

/** Registers `check`. */
export function registerCheckCommand(program: Command, output: Output, setExit: (code: number) => void): void {
  program.command('check')
    .description('check every system is reachable with the gateway\'s credentials (read-only); prints a table, exits 1 if any fails')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('--json', 'print JSON')
    .option('--timeout <seconds>', 'how long each check may take', '10')
    .action(async (opts: { config: string; json?: boolean; timeout: string }) => {
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) { output.err(`--timeout takes a number of seconds, not "${opts.timeout}"`); setExit(2); return; }
      const config = loadConfigOrExit(opts.config, output, setExit);
      if (config === undefined) return;
      const store = await openStore(config.store);
      let connectors: ReadonlyMap<string, Connector> = new Map();
      try {
        const { vault, check: vaultCheck } = await checkVault(config, store);
        connectors = connectSystems(config, { vault, clock: systemClock });
        const checks = [...(vaultCheck === undefined ? [] : [vaultCheck]), ...(await checkSystems(config, connectors, undefined, timeout * 1000))];
        const failed = checks.filter((c) => !c.ok).length;
        if (opts.json === true) output.out(JSON.stringify({ ok: failed === 0, systems: checks }, null, 2));
        else output.out(`${formatCheckTable(checks)}\n${checks.length === 0 ? 'no systems configured' : failed === 0 ? `all ${checks.length} system(s) OK` : `${failed} of ${checks.length} system(s) FAILED`}`);
        if (failed > 0) setExit(1);
      } finally {
        // All at once, and whatever one does, the store is closed.
        await Promise.allSettled([...connectors.values()].map((connector) => connector.close()));
        await store.close();
      }
    });
}
