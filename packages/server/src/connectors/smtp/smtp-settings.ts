/**
 * `kind: smtp` systems in portcullis.yaml: a mail server the gateway sends email through.
 * Invariants: the password is named (an environment variable or a vault secret), never
 * written; the sender address is fixed by the config, never chosen by an agent.
 */
import { z } from 'zod';
import { durationMs } from '../../config/duration.js';
import { timeoutSetting } from '../http/http-settings.js';
import type { ConfigIssue } from '../../config/issues.js';
import type { Env } from '../../config/secrets.js';
import { compileSecret, envOrVaultSecret, type CompiledSecret } from '../../config/system-secrets.js';

/** An SMTP mail server. */
export interface SmtpSystemConfig {
  readonly kind: 'smtp';
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** TLS from the first byte (else STARTTLS). */
  readonly secure: boolean;
  /** The sender of every email. */
  readonly from: string;
  readonly auth?: { readonly user: string; readonly password: CompiledSecret };
  /** How long connecting and each step of sending may take. */
  readonly timeoutMs: number;
}

/** The settings of an SMTP system. */
export const smtpSystemSchema = z.strictObject({
  kind: z.literal('smtp'),
  host: z.string().trim().min(1, { error: 'expected the mail server\'s host name' }),
  port: z.number().int({ error: 'expected a port number' }).min(1).max(65_535, { error: 'a port is at most 65535' }).describe('Usually 587 (STARTTLS) or 465 (TLS).'),
  secure: z.boolean().optional().describe('TLS from the first byte; default true on port 465. Otherwise STARTTLS is used when offered, and required when auth is set and the host is not 127.0.0.1 or localhost.'),
  from: z.email({ error: 'expected the sender\'s email address' }).describe('The sender of every email; agents cannot change it.'),
  auth: z.strictObject({
    user: z.string().min(1),
    passwordEnv: envOrVaultSecret.describe('Environment variable (or { vault: NAME }) holding the password.'),
  }).optional(),
  timeout: timeoutSetting,
});

export type SmtpSystemSettings = z.output<typeof smtpSystemSchema>;

/** Compiles an SMTP system; undefined, with the problems in `issues`, when its password cannot be named. */
export function compileSmtpSystem(name: string, settings: SmtpSystemSettings, context: { env: Env }, issues: ConfigIssue[]): SmtpSystemConfig | undefined {
  let auth: SmtpSystemConfig['auth'];
  if (settings.auth !== undefined) {
    const compiled = compileSecret(settings.auth.passwordEnv, name, ['systems', name, 'auth', 'passwordEnv'], context.env);
    issues.push(...compiled.issues);
    if (compiled.secret === undefined) return undefined;
    auth = Object.freeze({ user: settings.auth.user, password: compiled.secret });
  }
  return {
    kind: 'smtp', name, host: settings.host, port: settings.port, secure: settings.secure ?? settings.port === 465,
    from: settings.from, timeoutMs: durationMs(settings.timeout), ...(auth === undefined ? {} : { auth }),
  };
}
