/**
 * The start of a gateway, as the trail records it. Invariant: every start is audited before
 * anything can execute (proving the store writable, SPEC rule 5), with the digest of what the
 * config allows, so a change of grants, modes or bounds between starts shows in the trail.
 */
import { canonicalJson, sha256Hex } from '@portcullis/core';
import type { CompiledConfig } from '../config/compiled.js';
import type { ServiceDeps } from './deps.js';
import { recordRolloutAtStart } from './rollout.js';

/** A digest of what the config allows: each workflow's agent, department, modes, bounds and grants. */
export function configDigest(config: CompiledConfig): string {
  return sha256Hex(canonicalJson([...config.workflows.values()].map((w) => ({
    id: w.id, agent: w.agent, department: w.department, mode: w.mode, bounds: w.bounds,
    grants: [...w.grants.entries()].map(([key, c]) => [key, c.whole, [...c.fields].sort()]),
  }))));
}

/** Appends `gateway.started`, then the rollout's seeding (first start) and the config's overrides. @throws PortcullisError STORE_UNAVAILABLE when the trail cannot be written (the gateway must not start). */
export async function recordStart(deps: ServiceDeps): Promise<void> {
  const { config } = deps;
  // Writes named like money or messages that the config declares are neither: the reasons are on the record.
  const declared = [...config.actions.values()].flatMap((a) => (a.notMoneyOrMessages === undefined ? [] : [[a.name, a.notMoneyOrMessages] as const]));
  await deps.store.appendAudit([{
    type: 'gateway.started', at: deps.clock.now(), actor: { kind: 'system', id: 'gateway' },
    data: {
      config: config.source, workflows: [...config.workflows.keys()], systems: [...config.systems.keys()], configDigest: configDigest(config),
      ...(declared.length === 0 ? {} : { notMoneyOrMessages: Object.fromEntries(declared) }),
    },
  }]);
  await recordRolloutAtStart(deps);
}
