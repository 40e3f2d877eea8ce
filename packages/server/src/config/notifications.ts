/**
 * The top-level `notifications:` section of portcullis.yaml: where alerts are told (signed
 * webhooks, email through one SMTP system) and how deliveries are retried. Not a system kind:
 * notification traffic never passes through the proposal gate and is never an agent's action.
 * Invariants: a webhook URL is http(s) (anything else is refused at load); a signing secret is
 * named (`{ env }` or `{ vault }`), never written, and an environment secret must be a
 * Standard Webhooks secret (`whsec_` + base64 of 24 to 64 bytes); `email.system` names a
 * configured `kind: smtp` system.
 */
import { ALERT_KINDS, type AlertKind } from '@portcullis/core';
import { z } from 'zod';
import { durationMs } from './duration.js';
import type { ConfigIssue } from './issues.js';
import type { Env } from './env.js';
import { NAME_PATTERN, durationSetting } from './system-common.js';
import { compileSecret, secretRef, type CompiledSecret } from './system-secrets.js';

/** The vault "system" a webhook's `{ vault: NAME }` secret is stored under: `portcullis vault set notifications NAME`. */
export const NOTIFICATIONS_VAULT_SYSTEM = 'notifications';

/** Standard Webhooks (https://www.standardwebhooks.com/): a secret is `whsec_` then base64 of 24 to 64 random bytes. */
export const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** Why `value` is not a Standard Webhooks secret, or undefined when it is. Never includes the value. */
export function webhookSecretProblem(value: string): string | undefined {
  if (!WEBHOOK_SECRET_PATTERN.test(value)) return 'is not a Standard Webhooks secret: expected whsec_ followed by base64 (make one with `printf "whsec_%s\\n" "$(openssl rand -base64 32)"`)';
  const bytes = Buffer.from(value.slice('whsec_'.length), 'base64').length;
  if (bytes < 24 || bytes > 64) return `decodes to ${bytes} bytes; a Standard Webhooks secret is 24 to 64 bytes (make one with \`printf "whsec_%s\\n" "$(openssl rand -base64 32)"\`)`;
  return undefined;
}

const webhookUrl = z.string({ error: 'expected the receiver\'s URL, e.g. https://hooks.example.com/portcullis' }).refine((text) => {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}, { error: (issue) => `expected an http(s) URL, e.g. https://hooks.example.com/portcullis; ${JSON.stringify(issue.input)} is not one (webhooks are POSTed over HTTP)` });

const alertKinds = z.array(z.enum(ALERT_KINDS, { error: `expected an alert kind: ${ALERT_KINDS.join(', ')}` }))
  .min(1, { error: 'list at least one alert kind, or leave kinds out to receive every kind' })
  .optional()
  .describe('Only these alert kinds (docs/alerts.md); default every kind.');

const webhook = z.strictObject({
  url: webhookUrl.describe('Where each alert is POSTed (http or https; redirects are not followed).'),
  // A bare string is taken so that it can be refused with the fix (compileNotifications), never echoed.
  secret: z.union([z.string(), secretRef]).describe('The signing secret (Standard Webhooks: whsec_ + base64): { env: VAR } or { vault: NAME } stored with `portcullis vault set notifications NAME`.'),
  kinds: alertKinds,
});

/** The `notifications:` section. */
export const notificationsSchema = z.strictObject({
  webhooks: z.record(z.string().regex(NAME_PATTERN, { error: 'a webhook name uses letters, digits, _ and -, starting with a letter or _' }), webhook).default({})
    .describe('Signed outbound webhooks, by name (Standard Webhooks signatures: docs/alerts.md).'),
  email: z.strictObject({
    system: z.string().min(1).describe('The name of a configured kind: smtp system; alerts are mailed to the people they are for (people.ID.email).'),
    kinds: alertKinds,
  }).optional(),
  attempts: z.number().int({ error: 'expected a whole number' }).min(1, { error: 'must be at least 1' }).max(20, { error: 'at most 20 attempts' }).default(6)
    .describe('Attempts per delivery before it goes to the dead-letter list (`portcullis notifications failed`).'),
  backoff: durationSetting('30s', 'The wait before the first retry; each next wait doubles (with jitter), up to maxBackoff.'),
  maxBackoff: durationSetting('1h', 'The longest wait between two attempts.'),
  timeout: durationSetting('10s', 'How long one attempt may take (connecting, the answer, its body) before it fails.'),
  maxResponseBytes: z.number().int().min(0).default(65_536).describe('A webhook receiver\'s answer longer than this many bytes is a failed attempt.'),
}).describe('Where alerts are told: signed webhooks and email (docs/alerts.md).');

export type NotificationsSettings = z.output<typeof notificationsSchema>;

/** One webhook receiver, compiled. */
export interface WebhookConfig {
  readonly name: string;
  readonly url: string;
  readonly secret: CompiledSecret;
  /** Only these kinds; undefined: every kind. */
  readonly kinds?: ReadonlySet<AlertKind>;
}

/** The notifications section, compiled. */
export interface NotificationsConfig {
  readonly webhooks: readonly WebhookConfig[];
  readonly email?: { readonly system: string; readonly kinds?: ReadonlySet<AlertKind> };
  readonly attempts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

/**
 * Compiles the notifications section; `systems` are the configured systems' kinds by name.
 * Returns the problems (an unset or malformed secret, an email system that is not smtp) as issues.
 */
export function compileNotifications(settings: NotificationsSettings, systems: ReadonlyMap<string, { readonly kind: string }>, env: Env): { config?: NotificationsConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const webhooks: WebhookConfig[] = [];
  for (const [name, w] of Object.entries(settings.webhooks)) {
    const path = ['notifications', 'webhooks', name, 'secret'];
    if (typeof w.secret === 'string') {
      issues.push({ path, message: 'a signing secret is never written in the config: write { env: VARIABLE } or { vault: NAME } (store it with `portcullis vault set notifications NAME`)' });
      continue;
    }
    const compiled = compileSecret(w.secret, NOTIFICATIONS_VAULT_SYSTEM, path, env);
    issues.push(...compiled.issues);
    if (compiled.secret === undefined) continue;
    if (compiled.secret.kind === 'env') {
      const problem = webhookSecretProblem(compiled.secret.value);
      if (problem !== undefined) { issues.push({ path, message: `environment variable ${compiled.secret.variable} ${problem}` }); continue; }
    }
    webhooks.push(Object.freeze({ name, url: w.url, secret: compiled.secret, ...(w.kinds === undefined ? {} : { kinds: new Set(w.kinds) }) }));
  }
  const { email } = settings;
  if (email !== undefined) {
    const system = systems.get(email.system);
    const smtp = [...systems].filter(([, s]) => s.kind === 'smtp').map(([n]) => n);
    if (system?.kind !== 'smtp') {
      issues.push({
        path: ['notifications', 'email', 'system'],
        message: `${system === undefined ? `no system "${email.system}"` : `system "${email.system}" is of kind ${system.kind}, not smtp`}; name a kind: smtp system (configured: ${smtp.join(', ') || 'none — add one under systems'})`,
      });
    }
  }
  const backoffMs = durationMs(settings.backoff);
  const maxBackoffMs = durationMs(settings.maxBackoff);
  if (maxBackoffMs < backoffMs) issues.push({ path: ['notifications', 'maxBackoff'], message: `maxBackoff (${settings.maxBackoff}) is shorter than backoff (${settings.backoff}); make it at least as long` });
  if (issues.length > 0) return { issues };
  return {
    issues,
    config: Object.freeze({
      webhooks: Object.freeze(webhooks),
      ...(email === undefined ? {} : { email: Object.freeze({ system: email.system, ...(email.kinds === undefined ? {} : { kinds: new Set(email.kinds) }) }) }),
      attempts: settings.attempts, backoffMs, maxBackoffMs, timeoutMs: durationMs(settings.timeout), maxResponseBytes: settings.maxResponseBytes,
    }),
  };
}
