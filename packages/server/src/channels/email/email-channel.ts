/**
 * Alert email through the SMTP system named by `notifications.email.system`, with nodemailer.
 * Invariants: notification mail is not an agent's action and never passes through the proposal
 * gate (it uses the system's connection settings and credentials, not its connector); it goes
 * to the configured emails of the people the alert is for, and from the system's `from`; the
 * password is read at each attempt and never appears in an error (redacted); TLS is required
 * when authenticating to a host other than the loopback interface, as for the connector.
 */
import type { Alert, AlertKind } from '@portcullis/core';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { PersonConfig } from '../../config/compiled.js';
import { isLoopback } from '../../config/system-common.js';
import type { SmtpSystemConfig } from '../../connectors/smtp/smtp-settings.js';
import type { NotificationDelivery } from '../../store/store.js';
import { createSecretRedactor } from '../../vault/redact.js';
import { resolveSystemSecret } from '../../vault/resolve-secret.js';
import type { Vault } from '../../vault/vault.js';
import { alertDetails, type AttemptResult, type Channel } from '../channel.js';

/** What an email delivery sends: fixed when the alert is raised. */
interface EmailBody {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
}

/** What the email channel needs. */
export interface EmailChannelDeps {
  readonly system: SmtpSystemConfig;
  readonly people: ReadonlyMap<string, PersonConfig>;
  readonly kinds?: ReadonlySet<AlertKind>;
  readonly vault?: Vault;
  /** How long connecting and each step of sending may take, in milliseconds. */
  readonly timeoutMs: number;
}

/** The text of an alert email. */
export function emailText(alert: Alert): string {
  return [
    alert.message,
    ...(alert.runbook === undefined ? [] : ['', `Runbook (the manual fallback): ${alert.runbook}`]),
    '',
    `Alert: ${alert.kind} (audit event #${alert.seq}, ${new Date(alert.at).toISOString()})${alert.workflow === undefined ? '' : `, workflow ${alert.workflow}`}`,
    `Details: ${JSON.stringify(alertDetails(alert))}`,
    '',
    '-- Portcullis (docs/alerts.md)',
  ].join('\n');
}

/** Creates the email channel. */
export function createEmailChannel(deps: EmailChannelDeps): Channel {
  const { system } = deps;
  const redactor = createSecretRedactor();
  return {
    name: 'email',
    accepts: (kind) => deps.kinds === undefined || deps.kinds.has(kind),
    prepare(alert) {
      const to = alert.to.flatMap((id) => deps.people.get(id)?.email ?? []);
      if (to.length === 0) {
        return { problem: `none of the people this alert is for (${alert.to.join(', ') || 'nobody'}) has an email; add people.ID.email to the config` };
      }
      const body: EmailBody = { to: [...new Set(to)], subject: `[Portcullis] ${alert.title}`, text: emailText(alert) };
      return { body: JSON.stringify(body) };
    },
    async deliver(delivery: NotificationDelivery): Promise<AttemptResult> {
      const mail = JSON.parse(delivery.body) as EmailBody;
      const where = `email via system "${system.name}" (${system.host}:${system.port})`;
      let transport: ReturnType<typeof nodemailer.createTransport<SMTPTransport.SentMessageInfo>> | undefined;
      try {
        const password = system.auth === undefined ? undefined : await resolveSystemSecret(system.auth.password, deps.vault);
        if (password !== undefined) redactor.add(password);
        const timeout = Math.min(deps.timeoutMs, system.timeoutMs);
        transport = nodemailer.createTransport({
          host: system.host, port: system.port, secure: system.secure,
          requireTLS: system.auth !== undefined && !system.secure && !isLoopback(system.host),
          connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout,
          ...(system.auth === undefined || password === undefined ? {} : { auth: { user: system.auth.user, pass: password } }),
        });
        await transport.sendMail({ from: system.from, to: [...mail.to], subject: mail.subject, text: mail.text });
        return { ok: true, code: 250 };
      } catch (error) {
        const e = error as Error & { code?: string; responseCode?: number };
        const message = redactor.redact(e.message);
        const login = e.code === 'EAUTH' || e.responseCode === 535;
        return {
          ok: false, ...(e.responseCode === undefined ? {} : { code: e.responseCode }),
          error: login
            ? `${where}: the mail server refused the login of user "${system.auth?.user ?? ''}" (${message}); check systems.${system.name}.auth and its password`
            : `${where} failed: ${message}`,
        };
      } finally {
        transport?.close();
      }
    },
  };
}
