/**
 * The Standard Webhooks signature scheme (https://www.standardwebhooks.com/, spec
 * "standard-webhooks.md", section "Signature scheme"): HMAC-SHA256, keyed with the secret's
 * bytes (the base64 after `whsec_`), over `{webhook-id}.{webhook-timestamp}.{body}`; the header
 * `webhook-signature` carries `v1,` and the base64 of the MAC (several space-separated
 * signatures are allowed during a secret rotation; we send one).
 */
import { createHmac } from 'node:crypto';

/** The three headers a signed delivery carries. */
export interface StandardWebhookHeaders {
  readonly 'webhook-id': string;
  /** Integer Unix seconds. */
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * The HMAC key of a `whsec_` secret.
 * @throws Error when it is not `whsec_` + base64 of 24 to 64 bytes (the message never includes the secret)
 */
export function webhookSecretKey(secret: string): Buffer {
  if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret)) throw new Error('the signing secret is not a Standard Webhooks secret (whsec_ followed by base64)');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  if (key.length < 24 || key.length > 64) throw new Error(`the signing secret decodes to ${key.length} bytes; a Standard Webhooks secret is 24 to 64 bytes`);
  return key;
}

/** The headers of a delivery of `body` with id `id` at `timestampSeconds` (integer Unix seconds), signed with `key`. */
export function signStandardWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): StandardWebhookHeaders {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${mac}` };
}
