/** Credentials named in portcullis.yaml: environment variables or vault secrets, and OAuth2 settings. */
import { describe, expect, it } from 'vitest';
import { compileOAuth2, compileSecret, envOrVaultSecret, oauth2Settings, secretRef } from './system-secrets.js';

describe('credential references', () => {
  it('compiles a variable name, { env } and { vault } to one shape; a vault secret belongs to its system', () => {
    const env = { CRM_KEY: 'k-123' };
    expect(compileSecret(envOrVaultSecret.parse('CRM_KEY'), 'crm', ['systems', 'crm', 'apiKeyEnv'], env)).toEqual({ secret: { kind: 'env', variable: 'CRM_KEY', value: 'k-123' }, issues: [] });
    expect(compileSecret(secretRef.parse({ env: 'CRM_KEY' }), 'crm', [], env).secret).toEqual({ kind: 'env', variable: 'CRM_KEY', value: 'k-123' });
    expect(compileSecret(envOrVaultSecret.parse({ vault: 'api_key' }), 'crm', [], {}).secret).toEqual({ kind: 'vault', system: 'crm', name: 'api_key' });
  });

  it('names an unset variable and suggests the vault', () => {
    expect(compileSecret('CRM_KEY', 'crm', ['systems', 'crm', 'apiKeyEnv'], {}).issues).toEqual([{
      path: ['systems', 'crm', 'apiKeyEnv'],
      message: 'environment variable CRM_KEY is not set; set it, or keep the credential in the vault: `portcullis vault set crm NAME` and write { vault: NAME }',
    }]);
  });

  it('never takes a bare string as a credential at a plain key', () => {
    expect(secretRef.safeParse('hunter2').success).toBe(false);
    expect(secretRef.safeParse({ vault: 'x', env: 'Y' }).success).toBe(false);
    expect(envOrVaultSecret.safeParse({ value: 'hunter2' }).success).toBe(false);
  });
});

describe('OAuth2 settings', () => {
  const base = { kind: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://auth.example.com/token', clientId: 'portcullis', clientSecret: { vault: 'client_secret' } };

  it('applies defaults and compiles', () => {
    const settings = oauth2Settings.parse({ ...base, scopes: ['crm.read'] });
    expect(compileOAuth2(settings, 'crm', ['systems', 'crm', 'auth'], {})).toEqual({
      issues: [],
      config: { grant: 'client_credentials', tokenUrl: 'https://auth.example.com/token', clientId: 'portcullis', clientAuth: 'basic', scopes: ['crm.read'], refreshBeforeMs: 60_000, clientSecret: { kind: 'vault', system: 'crm', name: 'client_secret' } },
    });
    const refresh = oauth2Settings.parse({ ...base, grant: 'refresh_token', refreshToken: { vault: 'rt' }, refreshBefore: '2m' });
    expect(compileOAuth2(refresh, 'crm', [], {}).config).toMatchObject({ refreshToken: { kind: 'vault', system: 'crm', name: 'rt' }, refreshBeforeMs: 120_000 });
  });

  it('refuses plain http off the loopback interface, and a grant without what it needs', () => {
    const messages = (input: unknown): string[] => {
      const parsed = oauth2Settings.safeParse(input);
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(messages({ ...base, tokenUrl: 'http://auth.example.com/token' })).toEqual(['tokenUrl: the token endpoint must use https (plain http is accepted on 127.0.0.1 and localhost only): client secrets and tokens travel in it']);
    expect(messages({ ...base, tokenUrl: 'http://127.0.0.1:4000/token' })).toEqual([]);
    expect(messages({ ...base, grant: 'refresh_token' })).toEqual(['refreshToken: grant refresh_token needs refreshToken: { vault: NAME }; store the token with `portcullis vault set SYSTEM NAME`']);
    expect(messages({ ...base, clientSecret: undefined })).toEqual(['clientSecret: grant client_credentials needs clientSecret: { vault: NAME } or { env: VAR }']);
    expect(messages({ ...base, refreshToken: { env: 'RT' } }).length).toBeGreaterThan(0);
  });

  it('reports an unset variable at its key', () => {
    const settings = oauth2Settings.parse({ ...base, clientId: { env: 'CRM_CLIENT_ID' } });
    expect(compileOAuth2(settings, 'crm', ['systems', 'crm', 'auth'], {}).issues.map((i) => i.path.join('.'))).toEqual(['systems.crm.auth.clientId']);
  });
});
