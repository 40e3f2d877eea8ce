/**
 * An operator's use cases on a stopped (or running) gateway's store, for the CLI commands that
 * work offline: verify, export and purge the audit trail; set, list and rotate vault
 * credentials; pin MCP tools; check systems before a run. Invariants: every change is audited
 * by the store call that makes it (a purge leaves a checkpoint and an `audit.purged` event; a
 * vault change `vault.*`; a pin `mcp.tools_pinned`); no secret value is ever returned; a
 * retention below 90 days is refused. The wiring opens it over a store (and, with a config,
 * the vault and the connectors); the CLI only parses arguments and prints.
 */
import { PortcullisError, type Actor, type Clock } from '@portcullis/core';
import type { CompiledConfig } from '../config/compiled.js';
import { NAME_PATTERN } from '../config/system-common.js';
import { NOTIFICATIONS_VAULT_SYSTEM } from '../config/notifications.js';
import type { Connector } from '../connectors/connector.js';
import { isMcpConnector } from '../connectors/mcp/mcp-connector.js';
import { pinsOf } from '../connectors/mcp/mcp-catalog.js';
import { classifyTool } from '../connectors/mcp/mcp-tools.js';
import type { AuditFilter, StoredAuditEvent, Store } from '../store/store.js';
import type { SecretInfo, Vault } from '../vault/vault.js';
import type { MasterKey } from '../vault/vault-crypto.js';
import { proveAuditEvents, verifyStoredTrail, type EventProof, type ParallelVerify } from './audit.js';
import { newestCheckpoint, proveAuditEvent, publishCheckpoint, verifyAgainstCheckpoints, type AuditInclusionProof, type CheckpointVerification, type Outcome, type PublicKeys, type TreeVerification, type WitnessPolicy } from './audit-checkpoints.js';
import { publishAfterPurge, recoverAuditTrail } from './audit-publishing.js';
import { checkSystems, type SystemCheck } from './preflight.js';
import type { NotificationsAdmin } from './notifications-admin.js';

/** The shortest retention a purge accepts (SPEC: audit events are kept at least 90 days). */
export const MIN_RETENTION_DAYS = 90;

/** The operator's CLI acts as this actor in the trail. */
const CLI_ACTOR: Actor = { kind: 'system', id: 'cli' };

/** One tool of an MCP system as listed now, against its pin. */
export interface ListedTool {
  readonly name: string;
  readonly verb: string;
  readonly digest: string;
  /** '' unchanged (or first pinning), 'NEW' or 'CHANGED' against the recorded pins. */
  readonly change: '' | 'NEW' | 'CHANGED';
  /** Why the gateway does not offer it, if it does not. */
  readonly notOffered?: string;
}

/** The audit trail, offline. */
export interface AuditAdmin {
  /** Verifies the whole trail: the tree rebuilt from the bodies against the stored tree and head (in worker threads for a long SQLite trail when `parallel` says so). */
  verify(onProgress?: (verified: number) => void, parallel?: Omit<ParallelVerify, 'store'>): Promise<TreeVerification>;
  /** Pages of events, oldest first, `pageSize` at a time. */
  pages(filter: Omit<AuditFilter, 'limit' | 'afterSeq'>, pageSize?: number): AsyncGenerator<StoredAuditEvent[]>;
  /**
   * Deletes events older than `days` days (their leaf hashes are kept, so the rest verifies);
   * with audit.checkpoints in the config, then signs and publishes a checkpoint that covers
   * the purge (`published`), which the gateway needs to start again.
   * @throws PortcullisError INVALID_REQUEST for fewer than 90 days (nothing deleted).
   */
  purge(days: number): Promise<{ purged: number; anchorSeq: number; published?: { size: number; dir: string } }>;
  /** Verifies the trail against the signed checkpoints at `location` (a log file or its directory), trusting only `publicKey`. */
  verifyCheckpoints(location: string, publicKey: PublicKeys, onProgress?: (verified: number) => void, parallel?: Omit<ParallelVerify, 'store'>, witnesses?: WitnessPolicy): Promise<CheckpointVerification>;
  /** Signs the current tree head with the key in `keyFile` and appends it to the checkpoint log in `dir`. */
  /** Signs the store's tree (origin: the key's name unless given); refuses (`broken`) a trail that does not verify. */
  checkpoint(keyFile: string, origin: string | undefined, dir: string): ReturnType<typeof publishCheckpoint>;
  /** The inclusion proof of event `seq` against the newest checkpoint at `location`. */
  prove(seq: number, location: string, publicKey: PublicKeys): Promise<Outcome<{ proof: AuditInclusionProof }>>;
  /** A prover of events against the newest checkpoint at `location` (for an export with proofs), or why there is none. */
  prover(location: string, publicKey: PublicKeys): Promise<Outcome<{ prove: (events: readonly StoredAuditEvent[]) => Promise<Map<number, EventProof>> }>>;
  /**
   * Accepts the store as the trail from now on after it disagreed with the newest published
   * checkpoint: audited (`audit.recovered`), then a new checkpoint is signed and published.
   * @throws PortcullisError INVALID_REQUEST without audit.checkpoints in the config, or when there is nothing to recover; CONFIG_INVALID for a bad signing key.
   */
  recover(reason: string): Promise<{ size: number; problem: string }>;
}

/** The credential vault, offline. */
export interface VaultAdmin {
  /** The master key in use, or undefined when locked. */
  readonly keyId: string | undefined;
  /** Checks that (system, name) can hold a credential, before its value is read. @throws PortcullisError INVALID_REQUEST naming the problem */
  checkTarget(system: string, name: string): void;
  /**
   * Stores a credential of a configured system, sealed; audited without the value.
   * @throws PortcullisError INVALID_REQUEST for a bad name or an unknown system; SECRET_UNAVAILABLE when locked.
   */
  set(system: string, name: string, value: string): Promise<void>;
  list(): Promise<SecretInfo[]>;
  /** Re-seals every credential under `next`, in one transaction. @throws PortcullisError SECRET_UNAVAILABLE */
  rotateKey(next: MasterKey): Promise<{ rotated: number }>;
}

/** Everything the offline CLI commands need, over one store. */
export interface AdminService {
  readonly audit: AuditAdmin;
  /** Present when opened with a config. */
  readonly vault?: VaultAdmin;
  /**
   * Checks every system (and the vault, when a master key is configured); never throws for a
   * failing system. Present when opened with a config.
   */
  checkSystems?(timeoutMs: number): Promise<SystemCheck[]>;
  /** The MCP systems of the config, by name. */
  mcpSystems(): string[];
  /** Lists an MCP system's tools now, against its pins (`removed`: pinned tools no longer listed). @throws PortcullisError UPSTREAM_FAILED when it cannot be listed */
  listTools(system: string): Promise<{ tools: ListedTool[]; removed: string[] }>;
  /** The notification channels' dead-letter list; present when the config has a `notifications:` section. */
  readonly notifications?: NotificationsAdmin;
  /** Records the listed tools of a system as accepted (audited); returns how many, and which pins were dropped. */
  pinTools(system: string, tools: readonly ListedTool[]): Promise<{ pinned: number; removed: string[] }>;
}

/** What the admin service is built over. */
export interface AdminDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Where the store lives, for parallel verification. */
  readonly storeLocation: ParallelVerify['store'];
  readonly config?: CompiledConfig;
  readonly vault?: Vault;
  /** The vault's own check, when a master key is configured (a bad key fails it). */
  readonly vaultCheck?: SystemCheck;
  /** Why the vault could not be opened with its master key (then `vault` is locked): its commands throw this. */
  readonly vaultError?: Error;
  readonly connectors?: ReadonlyMap<string, Connector>;
  /** The dead-letter list of the configured notification channels (the wiring builds it from channels/). */
  readonly notifications?: NotificationsAdmin;
}

/** Creates the admin service. */
export function createAdminService(deps: AdminDeps): AdminService {
  const { store, clock, config, vault, connectors } = deps;
  const audit: AuditAdmin = {
    verify: (onProgress, parallel) => verifyStoredTrail(store, onProgress, parallel === undefined ? undefined : { ...parallel, store: deps.storeLocation }),
    async *pages(filter, pageSize = 1000) {
      let afterSeq = 0;
      for (;;) {
        const page = await store.queryAudit({ ...filter, limit: pageSize, afterSeq });
        if (page.length > 0) yield page;
        const last = page.at(-1);
        if (page.length < pageSize || last === undefined) return;
        afterSeq = last.seq;
      }
    },
    async purge(days) {
      if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS) {
        throw new PortcullisError('INVALID_REQUEST', `audit events are kept at least ${MIN_RETENTION_DAYS} days; purge takes a whole number of days of at least ${MIN_RETENTION_DAYS}, not ${days}`);
      }
      const now = clock.now();
      const { purged, anchor } = await store.purgeAudit(now - days * 86_400_000, now, CLI_ACTOR.id);
      const settings = config?.audit.checkpoints;
      if (purged === 0 || settings === undefined) return { purged, anchorSeq: anchor.seq };
      return { purged, anchorSeq: anchor.seq, published: { size: await publishAfterPurge(store, settings), dir: settings.dir } };
    },
    verifyCheckpoints: (location, publicKey, onProgress, parallel, witnesses) => verifyAgainstCheckpoints(store, location, publicKey, onProgress, parallel === undefined ? undefined : { ...parallel, store: deps.storeLocation }, witnesses),
    checkpoint: (keyFile, origin, dir) => publishCheckpoint(store, keyFile, origin, dir),
    prove: (seq, location, publicKey) => proveAuditEvent(store, seq, location, publicKey),
    async prover(location, publicKey) {
      const newest = await newestCheckpoint(location, publicKey);
      if (!newest.ok) return newest;
      return { ok: true, prove: (events) => proveAuditEvents({ store, latestCheckpoint: () => newest.checkpoint }, events) };
    },
    async recover(reason) {
      const settings = config?.audit.checkpoints;
      if (settings === undefined) throw new PortcullisError('INVALID_REQUEST', `audit recover needs audit.checkpoints in ${config?.source ?? 'the config'} (pass --config)`);
      return recoverAuditTrail(store, settings, clock, CLI_ACTOR, reason);
    },
  };
  const mcpConnector = (name: string) => {
    const connector = connectors?.get(name);
    if (!isMcpConnector(connector)) throw new PortcullisError('INVALID_REQUEST', `no mcp system "${name}" in ${config?.source ?? 'the config'}`);
    return connector;
  };
  const usable = (): Vault => {
    if (deps.vaultError !== undefined) throw deps.vaultError;
    return vault as Vault;
  };
  return {
    audit,
    ...(deps.notifications === undefined ? {} : { notifications: deps.notifications }),
    ...(vault === undefined || config === undefined ? {} : {
      vault: {
        get keyId() { return vault.keyId; },
        checkTarget(system, name) {
          if (!NAME_PATTERN.test(system) || !NAME_PATTERN.test(name)) throw new PortcullisError('INVALID_REQUEST', 'SYSTEM and NAME use letters, digits, _ and -, starting with a letter or _');
          // A webhook's signing secret { vault: NAME } lives under the system name `notifications`.
          if (system === NOTIFICATIONS_VAULT_SYSTEM && (config.notifications?.webhooks.length ?? 0) > 0 && !config.systems.has(system)) return;
          if (!config.systems.has(system)) throw new PortcullisError('INVALID_REQUEST', `no system "${system}" in ${config.source}; configured systems: ${[...config.systems.keys()].join(', ') || '(none)'}`);
        },
        async set(system, name, value) {
          this.checkTarget(system, name);
          await usable().set(system, name, value, CLI_ACTOR);
        },
        list: async () => usable().list(),
        rotateKey: async (next) => usable().rotateKey(next, CLI_ACTOR),
      } satisfies VaultAdmin,
    }),
    ...(config === undefined || connectors === undefined ? {} : {
      async checkSystems(timeoutMs: number) {
        return [...(deps.vaultCheck === undefined ? [] : [deps.vaultCheck]), ...(await checkSystems(config, connectors, undefined, timeoutMs))];
      },
    }),
    mcpSystems: () => [...(connectors?.entries() ?? [])].filter(([, c]) => isMcpConnector(c)).map(([name]) => name),
    async listTools(name) {
      const connector = mcpConnector(name);
      const listed = await connector.discover();
      if (!listed.ok) throw new PortcullisError('UPSTREAM_FAILED', `${name}: ${listed.error}; nothing pinned`);
      const old = await pinsOf(store, name);
      const tools = [...connector.current().values()].map(({ tool, digest }): ListedTool => {
        const notOffered = connector.rejected().get(tool.name);
        return {
          name: tool.name, verb: classifyTool(tool.annotations).verb, digest,
          change: !old.has(tool.name) ? (old.size === 0 ? '' : 'NEW') : old.get(tool.name) === digest ? '' : 'CHANGED',
          ...(notOffered === undefined ? {} : { notOffered }),
        };
      });
      return { tools, removed: [...old.keys()].filter((tool) => !tools.some((t) => t.name === tool)) };
    },
    async pinTools(name, tools) {
      const old = await pinsOf(store, name);
      const removed = [...old.keys()].filter((tool) => !tools.some((t) => t.name === tool));
      const now = clock.now();
      await store.setToolPins(name, tools.map((t) => ({ system: name, tool: t.name, digest: t.digest, pinnedAt: now, pinnedBy: CLI_ACTOR.id })), [{
        type: 'mcp.tools_pinned', at: now, actor: CLI_ACTOR,
        data: { system: name, tools: tools.map((t) => ({ name: t.name, digest: t.digest })), removed },
      }]);
      return { pinned: tools.length, removed };
    },
  };
}
