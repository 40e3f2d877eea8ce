/**
 * Wiring: the one place the gateway's parts are put together with plain factories. Opens
 * the store (and proves it writable by auditing the start), connects the systems, recovers
 * proposals interrupted by a previous stop, and builds the HTTP API.
 */
import { PortcullisError, canonicalJson, sha256Hex, type Clock, type IdGenerator } from '@portcullis/core';
import type { FastifyServerOptions } from 'fastify';
import type { CompiledConfig, StoreConfig } from '../config/compiled.js';
import type { Connector } from '../connectors/connector.js';
import { createSqliteConnector } from '../connectors/sql/sqlite-connector.js';
import { buildApp, type App } from '../http/app.js';
import { createGatewayService, type GatewayService } from '../service/gateway-service.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { createIdGenerator, systemClock } from './clock.js';

export interface Gateway {
  readonly config: CompiledConfig;
  readonly store: Store;
  readonly service: GatewayService;
  readonly app: App;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Stops timers, the HTTP server, the connectors and the store. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly clock?: Clock;
  readonly ids?: IdGenerator;
  readonly logger?: FastifyServerOptions['logger'];
  /** How often pending proposals are checked for expiry; 0 disables the timer (tests). */
  readonly expiryIntervalMs?: number;
  /** Use this store instead of opening the configured one. */
  readonly store?: Store;
}

/** Opens the store a config names. @throws PortcullisError STORE_UNAVAILABLE */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'postgres') {
    throw new PortcullisError('STORE_UNAVAILABLE', 'store.kind "postgres" is not available in this version; use store.kind "sqlite"');
  }
  const store = createSqliteStore({ path: config.path });
  await store.migrate();
  return store;
}

/** Creates a connector for every configured system. */
export function connectSystems(config: CompiledConfig): Map<string, Connector> {
  const connectors = new Map<string, Connector>();
  for (const system of config.systems.values()) connectors.set(system.name, createSqliteConnector(system));
  return connectors;
}

/** Opens a gateway for a compiled config. @throws PortcullisError STORE_UNAVAILABLE when the audit store cannot be written */
export async function openGateway(config: CompiledConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? createIdGenerator(clock);
  const store = options.store ?? (await openStore(config.store));
  const connectors = connectSystems(config);
  const service = createGatewayService({ config, store, connectors, clock, ids });
  await store.appendAudit([{
    type: 'gateway.started', at: clock.now(), actor: { kind: 'system', id: 'gateway' },
    data: { config: config.source, workflows: [...config.workflows.keys()], systems: [...config.systems.keys()], configDigest: configDigest(config) },
  }]);
  await service.recoverInterrupted();
  const app = await buildApp({ config, store, service, ...(options.logger === undefined ? {} : { logger: options.logger }) });
  const interval = options.expiryIntervalMs ?? 5000;
  const timer = interval > 0 ? setInterval(() => { service.expireDue().catch((error: unknown) => app.log.error({ err: error }, 'expiring pending proposals failed')); }, interval) : undefined;
  timer?.unref();
  return {
    config, store, service, app, connectors,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await app.close();
      for (const connector of connectors.values()) await connector.close();
      await store.close();
    },
  };
}

/** A digest of what the config allows, recorded at each start so changes show in the trail. */
function configDigest(config: CompiledConfig): string {
  return sha256Hex(canonicalJson([...config.workflows.values()].map((w) => ({
    id: w.id, agent: w.agent, department: w.department, mode: w.mode, bounds: w.bounds,
    grants: [...w.grants.entries()].map(([key, c]) => [key, c.whole, [...c.fields].sort()]),
  }))));
}
