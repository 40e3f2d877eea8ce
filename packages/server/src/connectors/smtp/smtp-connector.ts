/**
 * The SMTP connector: sends email through the configured mail server with nodemailer.
 * Invariants: the sender is the system's `from`, never the agent's choice; the password is
 * read when a message is sent (so a rotated one is used at once) and never appears in a
 * result or an error; a sent email has no undo data, as it cannot be recalled; when the
 * gateway authenticates to a host other than the loopback interface, TLS is required.
 */
import { PortcullisError, type JsonValue } from '@portcullis/core';
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { SmtpSystemConfig } from './smtp-settings.js';
import { isLoopback } from '../../config/system-common.js';
import { createSecretRedactor } from '../../vault/redact.js';
import { resolveSystemSecret } from '../../vault/resolve-secret.js';
import type { Vault } from '../../vault/vault.js';
import type { Connector } from '../connector.js';
import type { EmailSendParams } from './smtp-actions.js';

/** What an SMTP connector needs besides its system's config. */
export interface SmtpConnectorDeps {
  /** Where a `{ vault: NAME }` password is read. */
  readonly vault?: Vault;
}

/** Connects an SMTP system. Nothing is sent until the first action or check. */
export function createSmtpConnector(system: SmtpSystemConfig, deps: SmtpConnectorDeps = {}): Connector {
  const redactor = createSecretRedactor();

  async function transport() {
    const password = system.auth === undefined ? undefined : await resolveSystemSecret(system.auth.password, deps.vault);
    if (password !== undefined) redactor.add(password);
    const options: SMTPTransport.Options = {
      host: system.host, port: system.port, secure: system.secure,
      requireTLS: system.auth !== undefined && !system.secure && !isLoopback(system.host),
      connectionTimeout: system.timeoutMs, greetingTimeout: system.timeoutMs, socketTimeout: system.timeoutMs,
      ...(system.auth === undefined || password === undefined ? {} : { auth: { user: system.auth.user, pass: password } }),
    };
    return nodemailer.createTransport(options);
  }

  const failure = (what: string, error: unknown): PortcullisError => {
    if (error instanceof PortcullisError) return error;
    const e = error as Error & { code?: string; responseCode?: number };
    return new PortcullisError('UPSTREAM_FAILED', redactor.redact(`system "${system.name}": ${what} via ${system.host}:${system.port} failed: ${e.message}`), {
      system: system.name, ...(e.code === undefined ? {} : { code: e.code }), ...(e.responseCode === undefined ? {} : { responseCode: e.responseCode }),
    }, { cause: error });
  };

  /**
   * A send that lost its session once connected (no answer before the timeout, the connection
   * dropped) may have been delivered: OUTCOME_UNKNOWN. nodemailer does not say which command was
   * in flight, so only what proves nothing was sent is a failure: no connection or greeting, a
   * refused connection, or an answer with an SMTP error code (a refused login, recipient or message).
   */
  const sendFailure = (error: unknown): PortcullisError => {
    const e = error as Error & { code?: string; responseCode?: number };
    const lost = e.responseCode === undefined && (
      (e.code === 'ETIMEDOUT' && !/connection timeout|greeting never received/i.test(e.message))
      || ((e.code === 'ESOCKET' || e.code === 'ECONNECTION') && /closed|reset|EPIPE/i.test(e.message) && !/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/.test(e.message)));
    if (!lost) return failure('sending', error);
    return new PortcullisError('OUTCOME_UNKNOWN', redactor.redact(`system "${system.name}": sending via ${system.host}:${system.port} lost its session before the server answered (${e.message}); the message may have been delivered, so whether it took effect is unknown`), {
      system: system.name, ...(e.code === undefined ? {} : { code: e.code }),
    }, { cause: error });
  };

  return {
    system: system.name,
    async execute(spec, params) {
      if (spec.verb !== 'send') throw new PortcullisError('INTERNAL', `SMTP systems have no "${spec.verb}" actions`);
      const p = params as EmailSendParams;
      const mailer = await transport().catch((error: unknown) => { throw failure('sending', error); });
      try {
        const info = await mailer.sendMail({
          from: system.from, to: p.to, ...(p.cc === undefined ? {} : { cc: p.cc }), subject: p.subject, text: p.text, ...(p.html === undefined ? {} : { html: p.html }),
        });
        const result: JsonValue = {
          messageId: info.messageId, accepted: info.accepted.map(String), rejected: info.rejected.map(String), from: system.from,
        };
        return { result };
      } catch (error) {
        throw sendFailure(error);
      } finally {
        mailer.close();
      }
    },
    async precheck() {
      return [];
    },
    async check() {
      try {
        const mailer = await transport();
        try {
          await mailer.verify();
        } finally {
          mailer.close();
        }
        return { ok: true, detail: `${system.host}:${system.port} accepted ${system.auth === undefined ? 'a connection' : `the login of ${system.auth.user}`}${system.secure ? ' over TLS' : ''}` };
      } catch (error) {
        return { ok: false, error: failure('connecting', error).message };
      }
    },
    async close() {
      // One connection per message: nothing stays open.
    },
  };
}
