/**
 * `portcullis vault set|list|rotate-key|new-key`: the credential vault, read and written
 * straight in the store. A secret's value is read from standard input only, never from the
 * command line (where shell history and `ps` would keep it), and no command prints one.
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import { isPortcullisError } from '@portcullis/core';
import type { Command } from 'commander';
import type { CompiledConfig, VaultAdmin } from '../service/contracts.js';
import type { CliHost } from './host.js';
import { loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

/**
 * Reads a secret from `input`: from a terminal, one line typed without echo; otherwise
 * (a pipe or a file) everything to the end, with one trailing newline dropped.
 */
export async function readSecretInput(input: Readable, output: Output): Promise<string> {
  if ((input as Readable & { isTTY?: boolean }).isTTY === true) {
    output.err('type the secret and press Enter (it is not shown):');
    // readline echoes what is typed to its output; a muted one echoes nothing.
    const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
    const lines = createInterface({ input, output: muted, terminal: true });
    try {
      return await new Promise<string>((resolve) => lines.once('line', resolve));
    } finally {
      lines.close();
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function withVault(host: CliHost, configPath: string, output: Output, setExit: (code: number) => void, use: (vault: VaultAdmin, config: CompiledConfig) => Promise<void>): Promise<void> {
  const config = loadConfigOrExit(host, configPath, output, setExit);
  if (config === undefined) return;
  const admin = await host.openAdmin({ config });
  try {
    if (admin.vault === undefined) throw new Error('the vault cannot be opened without a config');
    await use(admin.vault, config);
  } finally {
    await admin.close();
  }
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Registers the vault commands. `input` is where `vault set` reads the value (standard input). */
export function registerVaultCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void, input: Readable): void {
  const vault = program.command('vault').description('system credentials, sealed at rest (AES-256-GCM) under the master key (PORTCULLIS_MASTER_KEY or vault.keyFile)');

  vault.command('set <system> <name>')
    .description('store a credential of a system; the value is read from standard input, never from the command line')
    .option('-c, --config <file>', 'the gateway config', 'portcullis.yaml')
    .action(async (system: string, name: string, opts: { config: string }) => {
      await withVault(host, opts.config, output, setExit, async (v, config) => {
        try {
          v.checkTarget(system, name);
        } catch (error) {
          // A bad name or an unknown system is bad usage; nothing is read or stored.
          if (!isPortcullisError(error)) throw error;
          output.err(error.message);
          setExit(2);
          return;
        }
        const value = await readSecretInput(input, output);
        await v.set(system, name, value);
        output.out(`stored vault secret ${system}/${name} (sealed under master key ${v.keyId ?? '?'}); refer to it in ${config.source} as { vault: ${name} } under systems.${system}`);
      });
    });

  vault.command('list')
    .description('list the stored credentials: names, key ids and dates, never values')
    .option('-c, --config <file>', 'the gateway config', 'portcullis.yaml')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      await withVault(host, opts.config, output, setExit, async (v) => {
        const secrets = await v.list();
        if (opts.json === true) { output.out(JSON.stringify(secrets.map((s) => ({ ...s, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt) })), null, 2)); return; }
        if (secrets.length === 0) { output.out('the vault is empty; store a credential with `portcullis vault set SYSTEM NAME < file`'); return; }
        const rows = [['SYSTEM', 'NAME', 'MASTER KEY', 'UPDATED', 'CREATED'], ...secrets.map((s) => [s.system, s.name, s.keyId, iso(s.updatedAt), iso(s.createdAt)])];
        const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
        output.out(rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n'));
      });
    });

  vault.command('rotate-key')
    .description('re-seal every credential under a new master key, in one transaction; then point PORTCULLIS_MASTER_KEY or vault.keyFile at the new key')
    .requiredOption('--new-key-file <file>', 'the new master key (base64 of 32 bytes, mode 0600; `portcullis vault new-key --out FILE` makes one)')
    .option('-c, --config <file>', 'the gateway config', 'portcullis.yaml')
    .action(async (opts: { config: string; newKeyFile: string }) => {
      if (!existsSync(opts.newKeyFile)) {
        output.err(`no master key file at ${opts.newKeyFile}; make one with \`portcullis vault new-key --out ${opts.newKeyFile}\``);
        setExit(2);
        return;
      }
      const next = host.readMasterKeyFile(opts.newKeyFile);
      await withVault(host, opts.config, output, setExit, async (v) => {
        const from = v.keyId;
        const { rotated } = await v.rotateKey(next);
        output.out(`re-sealed ${rotated} secret(s) under master key ${next.id} (was ${from ?? '?'}). Now set vault.keyFile to ${opts.newKeyFile} (or PORTCULLIS_MASTER_KEY to its content) and restart the gateway: the old key no longer opens them.`);
      });
    });

  vault.command('new-key')
    .description('write a new random master key to a file created with mode 0600')
    .requiredOption('--out <file>', 'where to write it (must not exist)')
    .action((opts: { out: string }) => {
      if (existsSync(opts.out)) { output.err(`${opts.out} already exists; a master key is never overwritten: pick another path`); setExit(2); return; }
      const key = host.writeNewMasterKeyFile(opts.out);
      output.out(`wrote master key ${key.id} to ${opts.out} (mode 0600)`);
    });
}
