/** `portcullis check`: the pre-flight check of the vault and every system, as a table; exit 1 if any fails. */
import type { Command } from 'commander';
import { formatCheckTable } from '../service/contracts.js';
import type { CliHost } from './host.js';
import { loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

/** Registers `check`. */
export function registerCheckCommand(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  program.command('check')
    .description('check every system is reachable with the gateway\'s credentials (read-only); prints a table, exits 1 if any fails')
    .option('-c, --config <file>', 'the config file', 'portcullis.yaml')
    .option('--json', 'print JSON')
    .option('--timeout <seconds>', 'how long each check may take', '10')
    .action(async (opts: { config: string; json?: boolean; timeout: string }) => {
      const timeout = Number(opts.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0) { output.err(`--timeout takes a number of seconds, not "${opts.timeout}"`); setExit(2); return; }
      const config = loadConfigOrExit(host, opts.config, output, setExit);
      if (config === undefined) return;
      const admin = await host.openAdmin({ config });
      try {
        const checks = await admin.checkSystems?.(timeout * 1000) ?? [];
        // What the gateway would refuse to start on (an MCP tool's risk lowered, clashing tool names).
        const refusals = (await host.checkOnline(config)).filter((problem) => !checks.some((c) => !c.ok && problem.includes(c.detail)));
        for (const problem of refusals) output.err(problem);
        if (refusals.length > 0) setExit(1);
        const failed = checks.filter((c) => !c.ok).length;
        if (opts.json === true) output.out(JSON.stringify({ ok: failed === 0, systems: checks }, null, 2));
        else output.out(`${formatCheckTable(checks)}\n${checks.length === 0 ? 'no systems configured' : failed === 0 ? `all ${checks.length} system(s) OK` : `${failed} of ${checks.length} system(s) FAILED`}`);
        if (failed > 0) setExit(1);
      } finally {
        await admin.close();
      }
    });
}
