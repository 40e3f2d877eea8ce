/**
 * The `notifications:` section at load: webhook URLs must be http(s), signing secrets named and
 * well-formed, the email system a configured smtp system; each problem located at
 * file:line:column with its fix, and no secret value in any message.
 */
import { describe, expect, it } from 'vitest';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { formatConfigErrors, parseConfigText } from './load.js';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

const config = (notifications: string, env: Record<string, string> = { OPS_SECRET: SECRET }) => parseConfigText(`version: 1
systems:
  mail: { kind: smtp, host: 127.0.0.1, port: 2525, from: gateway@example.com }
  crm: { kind: sql, driver: sqlite, path: ./crm.db, tables: { leads: { primaryKey: id, columns: [id] } } }
people:
  tom: { name: Tom, email: tom@example.com }
${notifications}`, { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/tmp', env });

const errorsOf = (result: ReturnType<typeof config>): string => (result.ok ? '' : formatConfigErrors(result.errors));

describe('notifications in portcullis.yaml', () => {
  it('compiles webhooks and email with their defaults', () => {
    const result = config(`notifications:
  webhooks:
    ops: { url: "https://hooks.example.com/portcullis", secret: { env: OPS_SECRET }, kinds: [breaker_tripped] }
    pager: { url: "http://127.0.0.1:9000/hook", secret: { vault: pager } }
  email: { system: mail }
  backoff: 10s
`);
    if (!result.ok) throw new Error(errorsOf(result));
    const n = result.config.notifications;
    expect(n).toMatchObject({ attempts: 6, backoffMs: 10_000, maxBackoffMs: 3_600_000, timeoutMs: 10_000, maxResponseBytes: 65_536, email: { system: 'mail' } });
    expect(n?.webhooks.map((w) => [w.name, w.url, w.secret.kind, w.kinds === undefined ? 'all' : [...w.kinds]])).toEqual([
      ['ops', 'https://hooks.example.com/portcullis', 'env', ['breaker_tripped']],
      ['pager', 'http://127.0.0.1:9000/hook', 'vault', 'all'],
    ]);
    expect(n?.webhooks[1]?.secret).toEqual({ kind: 'vault', system: 'notifications', name: 'pager' });
  });

  it('refuses a webhook URL that is not http(s), at its file:line:column', () => {
    for (const url of ['ftp://hooks.example.com/x', 'file:///etc/passwd', 'hooks.example.com/x']) {
      const result = config(`notifications:
  webhooks:
    ops:
      url: "${url}"
      secret: { env: OPS_SECRET }
`);
      expect(result.ok).toBe(false);
      expect(errorsOf(result)).toContain(`portcullis.yaml:10:12 notifications.webhooks.ops.url: expected an http(s) URL, e.g. https://hooks.example.com/portcullis; ${JSON.stringify(url)} is not one`);
    }
  });

  it('refuses a secret that is unset, written in the file, or not a Standard Webhooks secret, without printing it', () => {
    const unset = config('notifications:\n  webhooks:\n    ops: { url: "https://h.example.com", secret: { env: MISSING } }\n');
    expect(errorsOf(unset)).toMatch(/portcullis\.yaml:9:\d+ notifications\.webhooks\.ops\.secret: environment variable MISSING is not set/);
    const plain = config('notifications:\n  webhooks:\n    ops: { url: "https://h.example.com", secret: whsec_abc }\n');
    expect(errorsOf(plain)).toMatch(/portcullis\.yaml:9:\d+ notifications\.webhooks\.ops\.secret: a signing secret is never written in the config: write \{ env: VARIABLE \} or \{ vault: NAME \}/);
    expect(errorsOf(plain)).not.toContain('whsec_abc');
    const weak = config('notifications:\n  webhooks:\n    ops: { url: "https://h.example.com", secret: { env: OPS_SECRET } }\n', { OPS_SECRET: 'hunter2-hunter2' });
    expect(errorsOf(weak)).toMatch(/notifications\.webhooks\.ops\.secret: environment variable OPS_SECRET is not a Standard Webhooks secret: expected whsec_ followed by base64/);
    expect(errorsOf(weak)).not.toContain('hunter2');
  });

  it('refuses an email system that is not a configured smtp system, naming the smtp systems', () => {
    expect(errorsOf(config('notifications:\n  email: { system: crm }\n'))).toMatch(/portcullis\.yaml:8:\d+ notifications\.email\.system: system "crm" is of kind sql, not smtp; name a kind: smtp system \(configured: mail\)/);
    expect(errorsOf(config('notifications:\n  email: { system: mial }\n'))).toMatch(/notifications\.email\.system: no system "mial"; name a kind: smtp system \(configured: mail\)/);
  });

  it('refuses an unknown alert kind, naming the kinds', () => {
    expect(errorsOf(config('notifications:\n  email: { system: mail, kinds: [breaker_trip] }\n'))).toMatch(/notifications\.email\.kinds\[0\]: expected an alert kind: breaker_tripped, approval_rate_low/);
  });
});
