/**
 * `portcullis notifications failed|replay`: the notification channels' dead-letter list, read
 * and replayed straight in the store (like `vault` and `audit`, so they work with the gateway
 * stopped). A replay makes one more attempt now through the same channel, with the same
 * delivery id (a webhook receiver can tell it is the same message), and is audited.
 */
import { isPortcullisError } from '@portcullis/core';
import type { Command } from 'commander';
import type { NotificationsAdmin } from '../service/contracts.js';
import type { CliHost } from './host.js';
import { EXIT, loadConfigOrExit } from './load-config.js';
import type { Output } from './output.js';

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function withNotifications(host: CliHost, configPath: string, output: Output, setExit: (code: number) => void, use: (admin: NotificationsAdmin) => Promise<void>): Promise<void> {
  const config = loadConfigOrExit(host, configPath, output, setExit);
  if (config === undefined) return;
  const admin = await host.openAdmin({ config });
  try {
    if (admin.notifications === undefined) {
      output.err(`${config.source} has no notifications section: there are no notification deliveries (see docs/alerts.md to set up webhooks and email)`);
      setExit(EXIT.usage);
      return;
    }
    await use(admin.notifications);
  } finally {
    await admin.close();
  }
}

/** Registers the notifications commands. */
export function registerNotificationCommands(program: Command, host: CliHost, output: Output, setExit: (code: number) => void): void {
  const notifications = program.command('notifications').description('alert deliveries through webhooks and email: the dead-letter list (docs/alerts.md)');

  notifications.command('failed')
    .description('list the deliveries whose attempts ran out (the dead-letter list), with their last error')
    .option('-c, --config <file>', 'the gateway config', 'portcullis.yaml')
    .option('--json', 'print JSON, with every attempt')
    .action(async (opts: { config: string; json?: boolean }) => {
      await withNotifications(host, opts.config, output, setExit, async (admin) => {
        const failed = await admin.failed();
        if (opts.json === true) { output.out(JSON.stringify(failed, null, 2)); return; }
        if (failed.length === 0) { output.out('no failed deliveries: every alert was delivered or is still being retried'); return; }
        const rows = [['ID', 'CHANNEL', 'ALERT', 'ATTEMPTS', 'LAST ATTEMPT', 'LAST ERROR'], ...failed.map(({ delivery: d, attempts }) => [
          d.id, d.channel, `${d.alertKind} #${d.alertSeq}`, String(d.attempts), iso(attempts.at(-1)?.at ?? d.updatedAt), d.lastError ?? '',
        ])];
        const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
        output.out(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n'));
        output.out(`replay one with \`portcullis notifications replay ID\`, or all with \`--all\``);
      });
    });

  notifications.command('replay [id]')
    .description('make one more attempt now at a dead-lettered delivery (or every one with --all); exit 1 if any fails again (it stays in the list)')
    .option('-c, --config <file>', 'the gateway config', 'portcullis.yaml')
    .option('--all', 'replay every dead-lettered delivery')
    .action(async (id: string | undefined, opts: { config: string; all?: boolean }) => {
      if ((id === undefined) === (opts.all !== true)) {
        output.err('replay takes one delivery ID or --all (list them with `portcullis notifications failed`)');
        setExit(EXIT.usage);
        return;
      }
      await withNotifications(host, opts.config, output, setExit, async (admin) => {
        let results;
        try {
          results = await admin.replay(id === undefined ? 'all' : [id]);
        } catch (error) {
          if (!isPortcullisError(error) || error.code !== 'INVALID_REQUEST') throw error;
          output.err(error.message);
          setExit(EXIT.usage);
          return;
        }
        if (results.length === 0) { output.out('no failed deliveries to replay'); return; }
        for (const r of results) {
          if (r.ok) output.out(`${r.id}: delivered through ${r.channel}`);
          else output.err(`${r.id}: failed again through ${r.channel}: ${r.error ?? 'failed'} (it stays in the dead-letter list)`);
        }
        if (results.some((r) => !r.ok)) setExit(EXIT.failed);
      });
    });
}
