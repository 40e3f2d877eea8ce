/** `portcullis audit verify|export`: read the trail straight from the store, as an auditor would. */
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { MAX_WORKERS, checkAuditProof, toAuditEventView, type AuditEventView, type CompiledConfig, type EventProof, type StoredAuditEvent } from '../service/contracts.js';
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

const CSV_COLUMNS = ['seq', 'at', 'type', 'actor_kind', 'actor_id', 'workflow', 'proposal_id', 'data', 'tree_index', 'leaf_hash'] as const;

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function csvRow(e: AuditEventView): string {
  return [String(e.seq), e.at, e.type, e.actor.kind, e.actor.id, e.workflow ?? '', e.proposalId ?? '', JSON.stringify(e.data), String(e.treeIndex), e.leafHash].map(csvCell).join(',');
}

/** A public key given as its text or as a file holding it. */
function keyText(value: string): string {
  return existsSync(value) ? readFileSync(value, 'utf8') : value;
}

/** Collects a repeated option (`--key A --key B`). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Whether a checkpoint location is missing: a URL is checked when fetched, a path now. */
function missingLocation(location: string): boolean {
  return !/^https?:\/\//i.test(location) && !existsSync(location);
}

/** The default origin (log name) of checkpoints cut from the CLI. */
const DEFAULT_ORIGIN = 'portcullis/audit';

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', resolve).once('error', reject);
  });
}

/** "1 event", "2 events". */
const events = (n: number): string => `${n} event${n === 1 ? '' : 's'}`;

export function registerAuditCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  const audit = program.command('audit').description('verify and export the audit trail');
  const withStore = (cmd: Command): Command => cmd
    .option('-c, --config <file>', 'the gateway config whose store to read', 'portcullis.yaml')
    .option('--db <file>', 'read this SQLite audit database directly instead');

  withStore(audit.command('verify').description('rebuild the audit trail\'s Merkle tree from every event and check it against the stored tree and head, and every event against its stored leaf hash and columns; exits 1 and names the first bad event if it was edited or cut. With --checkpoints and --key, also prove the tree consistent with every published checkpoint'))
    .option('--workers <n>', 'verify a long trail in this many threads at once (default: one per core for trails of 100,000 events or more; 1: no threads)')
    .option('--checkpoints <file|dir|url>', 'the published checkpoint log: a checkpoints.jsonl file, its directory, one signed checkpoint, or an http(s) URL serving the log')
    .option('--key <public-key>', 'the checkpoints\' public key (its text, or a file holding it); needed with --checkpoints; repeat it after a key rotation (each checkpoint verifies with the key of its key id)', collect)
    .option('--witness-key <key>', 'a C2SP tlog-witness\'s cosignature/v1 public key (its text, or a file holding it), with --checkpoints; repeat it for several witnesses: some checkpoint must carry their cosignatures, and the answer names the newest one', collect)
    .option('--witness-quorum <n>', 'how many of the --witness-key witnesses must have cosigned (default: all of them)')
    .action(async (opts: StoreOptions & { workers?: string; checkpoints?: string; key?: string[]; witnessKey?: string[]; witnessQuorum?: string }) => {
      const workers = opts.workers === undefined ? undefined : Number(opts.workers);
      if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS)) {
        output.err(`--workers must be a whole number from 1 to ${MAX_WORKERS}, not "${opts.workers}"; nothing was verified`);
        setExit(2);
        return;
      }
      if ((opts.checkpoints === undefined) !== (opts.key === undefined)) {
        output.err('--checkpoints and --key go together: the checkpoints are trusted only through their public key; nothing was verified');
        setExit(2);
        return;
      }
      if (opts.checkpoints === undefined && (opts.witnessKey !== undefined || opts.witnessQuorum !== undefined)) {
        output.err('--witness-key and --witness-quorum go with --checkpoints and --key: witnesses cosign the published checkpoints; nothing was verified');
        setExit(2);
        return;
      }
      const quorum = opts.witnessQuorum === undefined ? undefined : Number(opts.witnessQuorum);
      if (quorum !== undefined && (opts.witnessKey === undefined || !Number.isInteger(quorum) || quorum < 1 || quorum > opts.witnessKey.length)) {
        output.err(`--witness-quorum must be a whole number from 1 to the number of --witness-key given (${opts.witnessKey?.length ?? 0}), not "${opts.witnessQuorum}"; nothing was verified`);
        setExit(2);
        return;
      }
      if (opts.checkpoints !== undefined && missingLocation(opts.checkpoints)) { output.err(`no checkpoint log at ${opts.checkpoints}; nothing was verified`); setExit(2); return; }
      const admin = await adminFrom(host, opts, output, setExit);
      if (admin === undefined) return;
      try {
        const parallel = {
          ...(workers === undefined ? {} : { workers }),
          onSplit: (events: number, threads: number) => output.err(`verifying ${events} events in ${threads} worker threads…`),
        };
        if (opts.checkpoints !== undefined && opts.key !== undefined) {
          const witnesses = opts.witnessKey === undefined ? undefined : { keys: opts.witnessKey.map(keyText), ...(quorum === undefined ? {} : { quorum }) };
          const result = await admin.audit.verifyCheckpoints(opts.checkpoints, opts.key.map(keyText), (n) => output.err(`verified ${n} events…`), parallel, witnesses);
          if (result.ok) {
            const older = result.beforePurge > 0 ? `; ${result.beforePurge} older than the last purge not rebuilt` : '';
            const witnessed = result.witnessed === undefined ? '' : `; witnessed through checkpoint ${result.witnessed.size} by ${result.witnessed.by.join(', ')}`;
            const unsigned = result.treeSize > result.newestSize
              ? `; the newest ${events(result.treeSize - result.newestSize)} (after the newest checkpoint, of ${result.newestSize}) ${result.treeSize - result.newestSize === 1 ? 'is' : 'are'} not covered by a signed checkpoint yet`
              : '';
            output.out(`audit trail OK: ${events(result.count)} verified; tree of ${events(result.treeSize)} consistent with ${result.matched} signed checkpoint${result.matched === 1 ? '' : 's'}${older}${witnessed}${unsigned}`);
          } else {
            output.err(`audit trail BROKEN: ${result.problem}`);
            setExit(1);
          }
          return;
        }
        const result = await admin.audit.verify((n) => output.err(`verified ${n} events…`), parallel);
        if (result.ok) output.out(`audit trail OK: ${events(result.count)} verified${result.count > 0 ? ` (through event ${result.lastSeq})` : ''}; tree of ${events(result.treeSize)} matches the stored tree`);
        else {
          output.err(`audit trail BROKEN${result.seq === undefined ? '' : ` at event ${result.seq}`}: ${result.problem} (${result.count} events before it verified)`);
          setExit(1);
        }
      } finally {
        await admin.close();
      }
    });

  audit.command('new-key').description('write a new Ed25519 checkpoint signing key to a file created with mode 0600, and print its public key')
    .requiredOption('--out <file>', 'where to write it (must not exist)')
    .option('--name <origin>', 'the key\'s name: the log\'s origin, e.g. portcullis.example.com/audit', DEFAULT_ORIGIN)
    .action((opts: { out: string; name: string }) => {
      if (existsSync(opts.out)) { output.err(`${opts.out} already exists; a signing key is never overwritten: pick another path`); setExit(2); return; }
      let publicKey: string;
      try {
        publicKey = host.writeNewSigningKeyFile(opts.out, opts.name);
      } catch (error) {
        output.err(`cannot write the signing key: ${(error as Error).message}`);
        setExit(2);
        return;
      }
      output.err(`wrote signing key to ${opts.out} (mode 0600); publish this public key (key id ${publicKey.split('+')[1] ?? '?'}) for verifiers:`);
      output.out(publicKey);
    });

  withStore(audit.command('checkpoint').description('sign the audit tree\'s current head and append it to the checkpoint log'))
    .requiredOption('--signing-key <file>', 'the signing key file (mode 0600), made by `portcullis audit new-key`')
    .requiredOption('--out <dir>', 'the checkpoint log\'s directory, outside the store')
    .option('--origin <origin>', 'the log\'s origin (default: the signing key\'s name)')
    .action(async (opts: StoreOptions & { signingKey: string; out: string; origin?: string }) => {
      const admin = await adminFrom(host, opts, output, setExit);
      if (admin === undefined) return;
      try {
        const result = await admin.audit.checkpoint(opts.signingKey, opts.origin, opts.out);
        if (!result.ok) { output.err(result.problem); setExit('broken' in result ? 1 : 2); return; }
        output.out(`signed checkpoint of ${result.checkpoint.size} events appended to ${result.path}`);
      } finally {
        await admin.close();
      }
    });

  withStore(audit.command('prove <seq>').description('write one event, its inclusion proof and the newest signed checkpoint as one JSON file'))
    .requiredOption('--checkpoints <file|dir|url>', 'the published checkpoint log (a file, its directory, or an http(s) URL serving it)')
    .requiredOption('--key <public-key>', 'the checkpoints\' public key (its text, or a file holding it); repeat it after a key rotation', collect)
    .option('--out <file>', 'write the proof here instead of standard output')
    .action(async (seqText: string, opts: StoreOptions & { checkpoints: string; key: string[]; out?: string }) => {
      const seq = Number(seqText);
      if (!Number.isSafeInteger(seq) || seq < 1) { output.err(`SEQ must be an event's sequence number, not "${seqText}"`); setExit(2); return; }
      if (missingLocation(opts.checkpoints)) { output.err(`no checkpoint log at ${opts.checkpoints}`); setExit(2); return; }
      const admin = await adminFrom(host, opts, output, setExit);
      if (admin === undefined) return;
      try {
        const result = await admin.audit.prove(seq, opts.checkpoints, opts.key.map(keyText));
        if (!result.ok) { output.err(`no proof of event ${seq}: ${result.problem}`); setExit(1); return; }
        const text = `${JSON.stringify(result.proof, null, 2)}\n`;
        if (opts.out === undefined) output.out(text.trimEnd());
        else { writeFileSync(opts.out, text); output.err(`wrote the proof of event ${seq} to ${opts.out}`); }
      } finally {
        await admin.close();
      }
    });

  audit.command('recover').description('after the gateway refused to start because its store disagrees with the newest published checkpoint: accept the store as the trail from now on (audited), and sign a new checkpoint')
    .option('-c, --config <file>', 'the gateway config (its audit.checkpoints names the key and the log)', 'portcullis.yaml')
    .requiredOption('--reason <text>', 'why the store is accepted (recorded in the trail), e.g. "restored the 2026-11-01 backup after disk loss"')
    .action(async (opts: { config: string; reason: string }) => {
      const admin = await adminFrom(host, { config: opts.config }, output, setExit);
      if (admin === undefined) return;
      try {
        const result = await admin.audit.recover(opts.reason);
        output.out(`recovered: the store's trail (${result.size} events) is published as the newest checkpoint; recorded as audit.recovered. It disagreed: ${result.problem}`);
      } catch (error) {
        output.err((error as Error).message);
        setExit(2);
      } finally {
        await admin.close();
      }
    });

  audit.command('check-proof <file>').description('verify a proof written by `audit prove`, offline, with only the log\'s public key')
    .requiredOption('--key <public-key>', 'the log\'s public key (its text, or a file holding it); repeat it after a key rotation', collect)
    .action((file: string, opts: { key: string[] }) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        output.err(`cannot read ${file}: ${(error as Error).message}`);
        setExit(2);
        return;
      }
      const result = checkAuditProof(text, opts.key.map(keyText));
      if (result.ok) output.out(`proof OK: event ${result.event.seq} (${result.event.type} by ${result.event.actor.kind} ${result.event.actor.id}) is in ${result.origin}'s signed tree of ${result.treeSize} events`);
      else { output.err(`proof REFUSED: ${result.problem}`); setExit(1); }
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
        const { purged, anchorSeq, published } = await admin.audit.purge(days);
        if (purged === 0) { output.out(`nothing to purge: no audit event is older than ${days} days`); return; }
        output.out(`purged ${purged} audit events older than ${days} days: the stored trail now starts after event ${anchorSeq}, and the purged events' leaf hashes are kept, so the tree and every checkpoint still verify`);
        if (published !== undefined) output.out(`signed a checkpoint of ${published.size} events covering the purge, published to ${published.dir}`);
        else output.err('if the gateway publishes signed checkpoints (audit.checkpoints), sign one now, before it starts (it refuses a purge no published checkpoint covers): `portcullis audit checkpoint --db FILE --signing-key KEY --out DIR`, or purge with -c CONFIG, which does it');
      } finally {
        await admin.close();
      }
    });

  withStore(audit.command('export').description('export the audit trail with each event\'s tree index and leaf hash, oldest first; with --proofs, each event\'s inclusion proof too'))
    .option('--format <format>', 'jsonl or csv', 'jsonl')
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--workflow <id>', 'only this workflow\'s events')
    .option('--from <iso>', 'only events at or after this time')
    .option('--to <iso>', 'only events before this time')
    .option('--proofs', 'add each event\'s inclusion proof against the newest checkpoint of --checkpoints (jsonl only), as `audit check-proof` reads it')
    .option('--checkpoints <file|dir|url>', 'the published checkpoint log, with --proofs')
    .option('--key <public-key>', 'the checkpoints\' public key, with --proofs; repeat it after a key rotation', collect)
    .action(async (opts: StoreOptions & { format: string; out?: string; workflow?: string; from?: string; to?: string; proofs?: boolean; checkpoints?: string; key?: string[] }) => {
      if (opts.format !== 'jsonl' && opts.format !== 'csv') { output.err(`--format must be jsonl or csv, not "${opts.format}"`); setExit(2); return; }
      if (opts.proofs === true && (opts.checkpoints === undefined || opts.key === undefined || opts.format !== 'jsonl')) {
        output.err('--proofs needs --checkpoints and --key (the proofs lead to a signed checkpoint) and --format jsonl; nothing was exported');
        setExit(2);
        return;
      }
      const from = opts.from === undefined ? undefined : Date.parse(opts.from);
      const to = opts.to === undefined ? undefined : Date.parse(opts.to);
      if (Number.isNaN(from) || Number.isNaN(to)) { output.err('--from and --to take ISO 8601 times, e.g. 2026-11-01T00:00:00Z'); setExit(2); return; }
      const admin = await adminFrom(host, opts, output, setExit);
      if (admin === undefined) return;
      let prove: ((events: readonly StoredAuditEvent[]) => Promise<Map<number, EventProof>>) | undefined;
      if (opts.proofs === true && opts.checkpoints !== undefined && opts.key !== undefined) {
        const prover = await admin.audit.prover(opts.checkpoints, opts.key.map(keyText));
        if (!prover.ok) { output.err(`no proofs: ${prover.problem}; nothing was exported`); setExit(1); await admin.close(); return; }
        prove = prover.prove;
      }
      const stream: Writable = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
      let count = 0;
      try {
        if (opts.format === 'csv') await write(stream, `${CSV_COLUMNS.join(',')}\n`);
        const pages = admin.audit.pages({
          ...(opts.workflow === undefined ? {} : { workflows: [opts.workflow] }),
          ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }),
        });
        for await (const page of pages) {
          const proofs = prove === undefined ? undefined : await prove(page);
          for (const event of page) {
            const view = toAuditEventView(event);
            const proof = proofs?.get(event.seq);
            const line = proof === undefined ? view : 'proof' in proof ? { ...view, proof: proof.proof } : { ...view, proofUnavailable: proof.unavailable };
            await write(stream, opts.format === 'csv' ? `${csvRow(view)}\n` : `${JSON.stringify(line)}\n`);
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
