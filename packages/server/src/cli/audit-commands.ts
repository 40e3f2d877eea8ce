/** `portcullis audit verify|export`: read the trail straight from the store, as an auditor would. */
import { createWriteStream, existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { MAX_WORKERS, toAuditEventView, type AuditEventView, type CompiledConfig } from '../service/contracts.js';
import type { CliHost } from './host.js';
import { EXIT, loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

interface StoreOptions {
  config?: string;
  db?: string;
}

type Admin = Awaited<ReturnType<CliHost['openAdmin']>>;

/**
 * Opens the admin service over `--db FILE`, or over the store of `--config FILE` (or the config
 * already `loaded`); undefined after saying why and setting the exit code (a missing database is bad usage).
 */
async function adminFrom(host: CliHost, opts: StoreOptions, output: Output, setExit: (code: number) => void, loaded?: CompiledConfig): Promise<Admin | undefined> {
  if (opts.db !== undefined) {
    if (!existsSync(opts.db)) { output.err(`no audit database at ${opts.db}`); setExit(EXIT.usage); return undefined; }
    return host.openAdmin({ dbPath: opts.db });
  }
  const config = loaded ?? loadConfigOrExit(host, opts.config ?? 'portcullis.yaml', output, setExit);
  if (config === undefined) return undefined;
  if (config.store.kind === 'sqlite' && !existsSync(config.store.path)) {
    output.err(`no audit database at ${config.store.path} (store.path in ${config.source})`);
    setExit(EXIT.usage);
    return undefined;
  }
  return host.openAdmin({ config });
}

const CSV_COLUMNS = ['seq', 'at', 'type', 'actor_kind', 'actor_id', 'workflow', 'proposal_id', 'data', 'prev_hash', 'hash'] as const;

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvRow(e: AuditEventView): string {
  return [String(e.seq), e.at, e.type, e.actor.kind, e.actor.id, e.workflow ?? '', e.proposalId ?? '', JSON.stringify(e.data), e.prevHash, e.hash].map(csvCell).join(',');
}

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', resolve).once('error', reject);
  });
}

export function registerAuditCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  const audit = program.command('audit').description('verify and export the audit trail');
  const withStore = (cmd: Command): Command => cmd
    .option('-c, --config <file>', 'the gateway config whose store to read', 'portcullis.yaml')
    .option('--db <file>', 'read this SQLite audit database directly instead');

  withStore(audit.command('verify').description('check every hash link of the audit chain; exits 1 and names the first bad event if it was edited or cut'))
    .option('--workers <n>', 'verify a long chain in this many threads at once (default: one per core for chains of 100,000 events or more; 1: no threads)')
    .action(async (opts: StoreOptions & { workers?: string }) => {
      const workers = opts.workers === undefined ? undefined : Number(opts.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)) {
        output.err(`--workers must be a whole number from 1 to ${MAX_WORKERS}, not "${opts.workers}"; nothing was verified`);
        setExit(2);
        return;
      }
      const admin = await adminFrom(host, opts, output, setExit);
      if (admin === undefined) return;
      try {
        const parallel = {
          ...(workers === undefined ? {} : { workers }),
          onSplit: (events: number, threads: number) => output.err(`verifying ${events} events in ${threads} worker threads…`),
        };
        const result = await admin.audit.verify((n) => output.err(`verified ${n} events…`), parallel);
        if (result.ok) output.out(`audit chain OK: ${result.count} events verified${result.count > 0 ? ` (through event ${result.last.seq})` : ''}`);
        else {
          output.err(`audit chain BROKEN at event ${result.break.seq}: ${result.break.problem} (${result.count} events before it verified)`);
          setExit(1);
        }
      } finally {
        await admin.close();
      }
    });

  withStore(audit.command('purge').description('delete audit events older than the retention period (at least 90 days); leaves a checkpoint so the rest still verifies'))
    .option('--older-than-days <days>', 'purge events older than this many days (default: audit.retentionDays of the config, or 365 with --db)')
    .action(async (opts: StoreOptions & { olderThanDays?: string }) => {
      let days = opts.olderThanDays === undefined ? undefined : Number(opts.olderThanDays);
      let config: CompiledConfig | undefined;
      if (opts.db === undefined) {
        config = loadConfigOrExit(host, opts.config ?? 'portcullis.yaml', output, setExit);
        if (config === undefined) return;
        days ??= config.audit.retentionDays;
      }
      days ??= 365;
      if (!Number.isInteger(days) || days < 90) {
        output.err(`--older-than-days must be a whole number of at least 90 (audit events are kept at least 90 days), not "${opts.olderThanDays}"`);
        setExit(2);
        return;
      }
      const admin = await adminFrom(host, opts, output, setExit, config);
      if (admin === undefined) return;
      try {
        const { purged, anchorSeq } = await admin.audit.purge(days);
        output.out(purged === 0
          ? `nothing to purge: no audit event is older than ${days} days`
          : `purged ${purged} audit events older than ${days} days; the chain now starts after event ${anchorSeq} (checkpoint recorded)`);
      } finally {
        await admin.close();
      }
    });

  withStore(audit.command('export').description('export the audit trail with its hashes, oldest first'))
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--workflow <id>', 'only this workflow\'s events')
    .option('--from <iso>', 'only events at or after this time')
    .option('--to <iso>', 'only events before this time')
    .action(async (opts: StoreOptions & { format: string; out?: string; workflow?: string; from?: string; to?: string }) => {
      if (opts.format !== 'jsonl' && opts.format !== 'csv') { output.err(`--format must be jsonl or csv, not "${opts.format}"`); setExit(2); return; }
      const from = opts.from === undefined ? undefined : Date.parse(opts.from);
      const to = opts.to === undefined ? undefined : Date.parse(opts.to);
      if (Number.isNaN(from) || Number.isNaN(to)) { output.err('--from and --to take ISO 8601 times, e.g. 2026-11-01T00:00:00Z'); setExit(2); return; }
      const admin = await adminFrom(host, opts, output, setExit);
      if (admin === undefined) return;
      const stream: Writable = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
      let count = 0;
      try {
        if (opts.format === 'csv') await write(stream, `${CSV_COLUMNS.join(',')}\n`);
        const pages = admin.audit.pages({
          ...(opts.workflow === undefined ? {} : { workflows: [opts.workflow] }),
          ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }),
        });
        for await (const page of pages) {
          for (const event of page) {
            const view = toAuditEventView(event);
            await write(stream, opts.format === 'csv' ? `${csvRow(view)}\n` : `${JSON.stringify(view)}\n`);
          }
          count += page.length;
        }
      } finally {
        await admin.close();
        if (opts.out !== undefined) await new Promise<void>((resolve) => stream.end(resolve));
      }
      output.err(`exported ${count} events${opts.out === undefined ? '' : ` to ${opts.out}`}`);
    });
}
