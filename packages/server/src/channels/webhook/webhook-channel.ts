/**
 * A signed outbound webhook: each alert is POSTed as JSON to the receiver's URL, signed with the
 * Standard Webhooks scheme (standard-webhooks.ts). Invariants: redirects are never followed (a
 * 3xx is a failed attempt: the signed body must not be replayed to an address the config does
 * not name); the answer's body is read up to `maxResponseBytes` and a longer one is a failed
 * attempt; an attempt that has not finished within `timeoutMs` fails; the secret is read at
 * each attempt (a secret replaced in the vault is used at once) and never appears in an error,
 * nor does the URL's path or query (which may carry a token): errors name the origin only.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Alert, AlertKind } from '@portcullis/core';
import type { WebhookConfig } from '../../config/compiled.js';
import type { NotificationDelivery } from '../../store/store.js';
import { resolveSystemSecret } from '../../vault/resolve-secret.js';
import type { Vault } from '../../vault/vault.js';
import { alertDetails, type AttemptResult, type Channel } from '../channel.js';
import { signStandardWebhook, webhookSecretKey } from './standard-webhooks.js';

/** What a webhook channel needs besides its config. */
export interface WebhookChannelDeps {
  /** Where a `{ vault: NAME }` secret is read (`portcullis vault set notifications NAME`). */
  readonly vault?: Vault;
  /** How long an attempt may take, in milliseconds. */
  readonly timeoutMs: number;
  /** The longest answer body read, in bytes. */
  readonly maxResponseBytes: number;
}

/**
 * The JSON body of an alert, in the Standard Webhooks payload shape: `type` (`alert.KIND`),
 * `timestamp` (ISO 8601, when it was raised) and `data` (the alert).
 */
export function webhookBody(alert: Alert): string {
  return JSON.stringify({
    type: `alert.${alert.kind}`,
    timestamp: new Date(alert.at).toISOString(),
    data: {
      seq: alert.seq, kind: alert.kind, ...(alert.workflow === undefined ? {} : { workflow: alert.workflow }),
      title: alert.title, message: alert.message, ...(alert.runbook === undefined ? {} : { runbook: alert.runbook }),
      to: alert.to, details: alertDetails(alert),
    },
  });
}

/** Creates the channel of one configured webhook. */
export function createWebhookChannel(config: WebhookConfig, deps: WebhookChannelDeps): Channel {
  const url = new URL(config.url);
  const where = `webhook "${config.name}" (${url.origin})`;
  return {
    name: `webhook:${config.name}`,
    accepts: (kind: AlertKind) => config.kinds === undefined || config.kinds.has(kind),
    prepare: (alert) => ({ body: webhookBody(alert) }),
    async deliver(delivery: NotificationDelivery, now: number): Promise<AttemptResult> {
      let key: Buffer;
      try {
        key = webhookSecretKey(await resolveSystemSecret(config.secret, deps.vault));
      } catch (error) {
        return { ok: false, error: `${where}: ${(error as Error).message}; fix notifications.webhooks.${config.name}.secret` };
      }
      const headers = signStandardWebhook(key, delivery.id, Math.floor(now / 1000), delivery.body);
      return post(url, { ...headers, 'content-type': 'application/json', 'user-agent': 'Portcullis' }, delivery.body, deps, where);
    },
  };
}

/** One POST: resolves with the attempt's result, never rejects. */
function post(url: URL, headers: Record<string, string>, body: string, limits: WebhookChannelDeps, where: string): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let settled = false;
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    }, (response: IncomingMessage) => {
      const code = response.statusCode ?? 0;
      if (code >= 300 && code < 400) {
        const location = response.headers.location === undefined ? '' : ` to ${safeLocation(response.headers.location, url)}`;
        finish({ ok: false, code, error: `${where} answered ${code}, a redirect${location}, which is not followed (a signed alert goes only where the config says): set notifications.webhooks URL to the final address` });
        return;
      }
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxResponseBytes) {
          finish({ ok: false, code, error: `${where} answered ${code} with a body over ${limits.maxResponseBytes} bytes, which is refused (notifications.maxResponseBytes); a receiver should answer with an empty or short body` });
        }
      });
      response.on('end', () => finish(code >= 200 && code < 300 ? { ok: true, code } : { ok: false, code, error: `${where} answered ${code}; a receiver accepts a delivery with a 2xx status` }));
      response.on('error', (error) => finish({ ok: false, code, error: `${where}: the answer broke off (${error.message})` }));
    });
    const timer = setTimeout(() => finish({ ok: false, error: `${where} did not answer within ${limits.timeoutMs} ms (notifications.timeout)` }), limits.timeoutMs);
    function finish(result: AttemptResult): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    }
    request.on('error', (error) => finish({ ok: false, error: `${where} cannot be reached: ${error.message}` }));
    request.end(body);
  });
}

/** A redirect target for a message: its origin and path, never its query. */
function safeLocation(location: string, base: URL): string {
  try {
    const target = new URL(location, base);
    return `${target.origin}${target.pathname}`;
  } catch {
    return 'an invalid address';
  }
}
