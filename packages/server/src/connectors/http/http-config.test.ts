/**
 * `kind: http` and `kind: smtp` in portcullis.yaml: what compiles, and every refusal located
 * at its line with the fix: a missing or broken OpenAPI document, grants to resources or
 * fields the API does not have, a delete or send grant not confirmed, a data scope on a
 * system that cannot be bounded by a field, credentials over plain http, unset variables.
 */
import { describe, expect, it } from 'vitest';
import type { HttpSystemConfig } from './http-settings.js';
import type { SmtpSystemConfig } from '../smtp/smtp-settings.js';
import { formatConfigError, parseConfigText } from '../../config/load.js';
import { harnessConfig } from '../../testing/harness.js';
import { LEADS_OPENAPI as OPENAPI } from '../../testing/json-server.js';
import { SYSTEM_KINDS } from '../registry.js';

const ENV = Object.fromEntries(['K_AGENT', 'K_OTHER', 'T_DANA', 'T_DELE', 'T_FAY', 'T_TOM', 'T_ADA'].map((k) => [k, `${k.toLowerCase()}_secret_value`]));

const api = (extra = '', baseUrl = 'https://crm.example.com/api') => `  api:
    kind: http
    openapi: ${OPENAPI}
    baseUrl: ${baseUrl}
    auth: { kind: bearer, tokenEnv: CRM_TOKEN }
${extra}`;
const mail = `  mail:
    kind: smtp
    host: smtp.example.com
    port: 587
    from: agent@example.com
    auth: { user: agent, passwordEnv: SMTP_PASSWORD }`;
const workflow = (grants: string[], more = '') => `  api-flow:
    description: Use the API
    agent: lead-router
    department: sales
    owner: tom
    runbook: By hand.
    grants: [${grants.join(', ')}]
${more}`;

function compile(systems: string, flow = '', env: Record<string, string> = { CRM_TOKEN: 'tok', SMTP_PASSWORD: 'pw' }) {
  return parseConfigText(harnessConfig({ extraSystemsYaml: systems, extraWorkflowYaml: flow }), { kinds: SYSTEM_KINDS, source: 'portcullis.yaml', baseDir: '/tmp', env: { ...ENV, ...env } });
}
function errors(systems: string, flow = '', env?: Record<string, string>): string[] {
  const result = compile(systems, flow, env);
  return result.ok ? [] : result.errors.map(formatConfigError);
}

describe('http and smtp systems in the config', () => {
  it('compiles both kinds: operations as actions, the credential named, never copied into the file', () => {
    const result = compile(`${api('    healthPath: /health')}\n${mail}`, workflow(['api:leads:read', 'api:leads.owner_id:update', '{ grant: "mail:email:send", explicit: true }']));
    if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
    const system = result.config.systems.get('api') as HttpSystemConfig;
    expect(system).toMatchObject({ kind: 'http', baseUrl: 'https://crm.example.com/api', healthPath: '/health', timeoutMs: 10_000, auth: { kind: 'bearer', token: { kind: 'env', variable: 'CRM_TOKEN' } } });
    expect(system.operations.map((o) => o.name)).toEqual(['listLeads', 'createLead', 'getLead', 'replaceLead', 'updateLead', 'deleteLead']);
    expect(result.config.systems.get('mail') as SmtpSystemConfig).toMatchObject({ kind: 'smtp', secure: false, from: 'agent@example.com', auth: { user: 'agent', password: { kind: 'env', variable: 'SMTP_PASSWORD' } } });
    expect(result.config.actions.get('mail.email.send')).toMatchObject({ verb: 'send', risk: 'high', tags: ['external'], reversible: false });
    expect(result.config.actions.get('api.deleteLead')).toMatchObject({ verb: 'delete', risk: 'high', resource: 'leads' });
    expect(result.config.workflows.get('api-flow')?.systems).toEqual(['api', 'mail']);
  });

  it('accepts a vault secret for the token, OAuth2, and an auth-less API over plain http', () => {
    expect(errors(api().replace('tokenEnv: CRM_TOKEN', 'tokenEnv: { vault: crm_token }'), '', {})).toEqual([]);
    const oauth = compile(api().replace('auth: { kind: bearer, tokenEnv: CRM_TOKEN }', 'auth: { kind: oauth2, grant: client_credentials, tokenUrl: "https://auth.example.com/token", clientId: gw, clientSecret: { vault: cs } }'));
    expect(oauth.ok && (oauth.config.systems.get('api') as HttpSystemConfig).auth).toMatchObject({ kind: 'oauth2', oauth2: { grant: 'client_credentials', clientSecret: { kind: 'vault', system: 'api', name: 'cs' } } });
    expect(errors(api('', 'http://crm.internal').replace('auth: { kind: bearer, tokenEnv: CRM_TOKEN }', 'auth: { kind: none }'))).toEqual([]);
  });

  it('refuses a missing document, unset variables and credentials over plain http, each at its line', () => {
    expect(errors(api().replace(OPENAPI, './nope.yaml'))).toEqual([
      'portcullis.yaml:13:14 systems.api.openapi: OpenAPI document /tmp/nope.yaml does not exist; write the path relative to the config file\'s folder',
    ]);
    expect(errors(`${api()}\n${mail}`, '', {})).toEqual([
      expect.stringMatching(/^portcullis\.yaml:15:37 systems\.api\.auth\.tokenEnv: environment variable CRM_TOKEN is not set; set it, or keep the credential in the vault/),
      expect.stringMatching(/^portcullis\.yaml:22:39 systems\.mail\.auth\.passwordEnv: environment variable SMTP_PASSWORD is not set/),
    ]);
    expect(errors(api('', 'http://crm.example.com'))).toEqual([
      'portcullis.yaml:14:14 systems.api.baseUrl: credentials would travel in plain text: use https (plain http is accepted with auth on 127.0.0.1 and localhost only)',
    ]);
    expect(errors(api('', 'https://crm.example.com/api?key=1'))).toEqual([
      'portcullis.yaml:14:14 systems.api.baseUrl: the base URL may not have a query, a fragment or a user name or password; put credentials in auth',
    ]);
  });

  it('checks grants against the API: resources, fields, and confirmation of deletes and sends', () => {
    expect(errors(`${api()}\n${mail}`, workflow(['api:contacts:read', 'api:leads.owner:update', 'api:leads:delete', 'mail:email:send']))).toEqual([
      expect.stringMatching(/grants\[0\]: grant "api:contacts:read": system "api" has no resource "contacts"; its resources are leads$/),
      expect.stringMatching(/grants\[1\]: grant "api:leads.owner:update": api:leads has no field "owner"; its fields are name, email, company, owner_id, status$/),
      expect.stringMatching(/grants\[2\]: grant "api:leads:delete" is high risk \(deletes data\); confirm it by writing \{ grant: "api:leads:delete", explicit: true \}/),
      expect.stringMatching(/grants\[3\]: grant "mail:email:send" is high risk \(communicates outside the company\); confirm it/),
    ]);
  });

  it('refuses a data scope on a system that cannot bound records by a field', () => {
    expect(errors(api(), workflow(['api:leads.owner_id:update'], '    bounds: { scope: { "api:leads": { field: created_at, within: 24h } } }'))).toEqual([
      expect.stringMatching(/bounds\.scope\["api:leads"\]: scope "api:leads": data scopes bound records of sql systems only; http system "api" cannot be bounded by a field, so remove this scope \(its grants bound it\)$/),
    ]);
  });
});
