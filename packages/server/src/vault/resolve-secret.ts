/**
 * The one way a connector turns a configured credential into its value: an environment
 * variable captured when the config was compiled, or a vault secret opened now. Connectors
 * call this each time they need a credential (not once at start), so a secret replaced with
 * `portcullis vault set` is used without a restart. The value goes to the connector only.
 */
import { PortcullisError } from '@portcullis/core';
import type { CompiledSecret } from '../config/system-secrets.js';
import type { Vault } from './vault.js';

/**
 * The value of a system credential.
 * @throws PortcullisError SECRET_UNAVAILABLE when a vault secret cannot be read (no vault,
 *   locked, missing, wrong master key, tampered), naming the secret and the fix, never a value.
 */
export async function resolveSystemSecret(ref: CompiledSecret, vault: Vault | undefined): Promise<string> {
  if (ref.kind === 'env') return ref.value;
  if (vault === undefined) {
    throw new PortcullisError('SECRET_UNAVAILABLE', `vault secret ${ref.system}/${ref.name} cannot be read: this process has no vault (open the gateway with its store)`, { system: ref.system, name: ref.name });
  }
  return vault.get(ref.system, ref.name);
}

/** How a credential is configured, for messages: `environment variable X` or `vault secret S/N`. Never its value. */
export function describeSecret(ref: CompiledSecret): string {
  return ref.kind === 'env' ? `environment variable ${ref.variable}` : `vault secret ${ref.system}/${ref.name}`;
}
