/**
 * Wiring: the one place the gateway's parts are put together with plain factories. Opens
 * the store (and proves it writable by auditing the start), connects the systems, recovers
 * proposals interrupted by a previous stop, and builds the HTTP API.
 */
import { PortcullisError, type Clock, type IdGenerator, type MetricsRecorder, type Notifier } from '@portcullis/core';
import { createPrometheusMetrics } from '../metrics/prometheus-metrics.js';
import type { FastifyServerOptions } from 'fastify';
import { createConfiguredNotifier } from '../channels/build.js';
import type { ChannelNotifier } from '../channels/notifier.js';
import type { Scheduler } from '../channels/scheduler.js';
import type { NotificationDelivery } from '../store/store.js';
import { raiseAlert } from '../service/alerts.js';
import type { CompiledConfig, StoreConfig } from '../config/compiled.js';
import type { Connector, ConnectorDeps } from '../connectors/connector.js';
import { SYSTEM_KINDS } from '../connectors/registry.js';
import { buildApp, type App } from '../http/app.js';
import { callBodyLimit } from '../http/limits.js';
import { requireAgent } from '../http/auth.js';
import { registerMcpRoute } from '../mcp-gateway/http-route.js';
import { toolNameProblems } from '../service/agent-tools.js';
import { createGatewayService, type GatewayService } from '../service/gateway-service.js';
import type { ProposalRateLimiter } from '../service/rate-limiter.js';
import { loadSigningKey, startAuditPublishing, type AuditPublishing } from '../service/audit-publishing.js';
import { createSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { loadMasterKey } from '../vault/master-key.js';
import { createVault, type Vault } from '../vault/vault.js';
import { createIdGenerator, systemClock } from './clock.js';

export interface Gateway {
  readonly config: CompiledConfig;
  readonly store: Store;
  readonly service: GatewayService;
  readonly app: App;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** System credentials, sealed in the store; connectors read them through vault/resolve-secret.ts. */
  readonly vault: Vault;
  /** What starting found wrong but served around (an MCP upstream that could not be listed, a tool not offered, a grant naming no tool). */
  readonly warnings: readonly string[];
  /** The notifier built from the config's `notifications:` section, if any (tests wait on its `idle()`). */
  readonly notifier?: ChannelNotifier;
  /** Answers held MCP calls "pending", then stops timers, the HTTP server, the connectors and the store. */
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
  /** How often the scheduled alert rules run, in ms (default `alerts.evaluateEvery`); 0 disables the timer (tests call service.evaluateAlerts). */
  readonly alertsIntervalMs?: number;
  /** Counts for GET /metrics; default a Prometheus registry of this gateway's own. */
  readonly metrics?: MetricsRecorder;
  /** Who tells people about alerts; default: the channels of the config's `notifications:` section (none: alerts are only audited). */
  readonly notifier?: Notifier;
  /** How the configured notifier schedules retries and draws jitter (tests drive retries with a manual scheduler). */
  readonly notifications?: { readonly scheduler?: Scheduler; readonly random?: () => number };
  /** Counts proposals per agent per minute; default this process's limiter (`portcullis simulate` takes every proposal). */
  readonly rateLimiter?: ProposalRateLimiter;
  /** Creates the connectors instead of `connectSystems` (tests; wrapping connectors). */
  readonly connect?: (config: CompiledConfig, deps: ConnectorDeps) => Map<string, Connector>;
  /**
   * Recover proposals a previous stop interrupted (default true). A second process on the same
   * store (`portcullis mcp` over stdio beside the running gateway) passes false, so it never
   * flags another process's executions as interrupted.
   */
  readonly recover?: boolean;
}

/** Opens the store a config names. @throws PortcullisError STORE_UNAVAILABLE */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.kind === 'postgres') {
    throw new PortcullisError('STORE_UNAVAILABLE', 'store.kind "postgres" is not available in this version; use store.kind "sqlite"');
  }
  const store = createSqliteStore({ path: config.path });
  try {
    await store.migrate();
  } catch (error) {
    // Closed, so a process that reports the failure and ends holds no connection or thread.
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}

/**
 * Opens the vault of a config over a store: unlocked when PORTCULLIS_MASTER_KEY or
 * vault.keyFile gives a key, locked (list only) otherwise.
 * @throws PortcullisError SECRET_UNAVAILABLE for a malformed key or a key file others can read.
 */
export function openVault(config: CompiledConfig, store: Store, clock: Clock = systemClock): Vault {
  return createVault({ store, key: loadMasterKey(config.vault), clock });
}

/** Creates a connector for every configured system, by its kind. */
export function connectSystems(config: CompiledConfig, deps: ConnectorDeps = {}): Map<string, Connector> {
  const connectors = new Map<string, Connector>();
  for (const system of config.systems.values()) {
    const kind = SYSTEM_KINDS.get(system.kind);
    if (kind === undefined) throw new PortcullisError('CONFIG_INVALID', `system "${system.name}" is of kind "${system.kind}", which this gateway does not know`);
    connectors.set(system.name, kind.connect(system, { maxResultBytes: config.limits.resultBytes, ...deps }));
  }
  return connectors;
}

/** Adds the actions each kind lists only once connected (MCP tools) to the config. */
export async function listOnlineActions(config: CompiledConfig, connectors: ReadonlyMap<string, Connector>, deps: { store: Store; clock: Clock }): Promise<{ config: CompiledConfig; warnings: string[]; refusals: string[]; unclassed: string[] }> {
  let current = config;
  const warnings: string[] = [];
  const refusals: string[] = [];
  const unclassed: string[] = [];
  for (const kind of SYSTEM_KINDS.values()) {
    if (kind.listActions === undefined) continue;
    const listed = await kind.listActions(current, connectors, deps);
    current = listed.config;
    warnings.push(...listed.warnings);
    refusals.push(...listed.refusals);
    unclassed.push(...(listed.unclassed ?? []));
  }
  return { config: current, warnings, refusals, unclassed };
}

/**
 * What the gateway refuses to start on, once its systems are listed (`portcullis validate
 * --online` and `check` report the same): an override or grant that would lower a destructive or
 * open-world tool below high (SPEC rule 2), two tools an agent would see under one name, a
 * system whose settings make serving it unsafe (a SQL primaryKey that is not unique).
 */
export async function startProblems(listed: Awaited<ReturnType<typeof listOnlineActions>>): Promise<string[]> {
  const problems = [...listed.refusals, ...toolNameProblems(listed.config)];
  for (const system of listed.config.systems.values()) problems.push(...(await SYSTEM_KINDS.get(system.kind)?.problemsAtStart?.(system) ?? []));
  return problems;
}

/** The alert a dead-lettered delivery raises (to the admins: it concerns no one workflow). */
function notificationFailing(delivery: NotificationDelivery) {
  return {
    kind: 'notification_failing' as const,
    title: `Notifications through ${delivery.channel} are failing`,
    message: `The ${delivery.alertKind} alert (audit event #${delivery.alertSeq}) could not be delivered through ${delivery.channel} after ${delivery.attempts} attempt(s): ${delivery.lastError ?? 'failed'}. Fix the receiver or the config, then replay it: portcullis notifications replay ${delivery.id}`,
    data: { channel: delivery.channel, delivery: delivery.id, alertSeq: delivery.alertSeq, alertKind: delivery.alertKind, attempts: delivery.attempts, lastError: delivery.lastError ?? '' },
  };
}

/** Opens a gateway for a compiled config. @throws PortcullisError STORE_UNAVAILABLE when the audit store cannot be written */
export async function openGateway(compiled: CompiledConfig, options: GatewayOptions = {}): Promise<Gateway> {
  let config = compiled;
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? createIdGenerator(clock);
  const store = options.store ?? (await openStore(config.store));
  let vault: Vault;
  try {
    vault = openVault(config, store, clock);
  } catch (error) {
    if (options.store === undefined) await store.close();
    throw error;
  }
  const connectors = (options.connect ?? connectSystems)(config, { vault, clock, store });
  // Some kinds' actions (MCP tools) are known only once their systems are listed.
  const listed = await listOnlineActions(config, connectors, { store, clock });
  config = listed.config;
  try {
    const problems = await startProblems(listed);
    if (problems.length > 0) throw new PortcullisError('CONFIG_INVALID', `${config.source}: ${problems.join('; ')}`);
  } catch (error) {
    await Promise.allSettled([...connectors.values()].map((connector) => connector.close()));
    if (options.store === undefined) await store.close();
    throw error;
  }
  // Signed checkpoints: checked against the store before anything runs, then cut off the request path.
  let warn = (message: string): void => { console.warn(message); };
  let publishing: AuditPublishing | undefined;
  const checkpoints = config.audit.checkpoints;
  if (checkpoints !== undefined) {
    try {
      publishing = await startAuditPublishing({
        store, settings: checkpoints, clock, signer: loadSigningKey(checkpoints),
        stdout: (line) => { process.stdout.write(`${line}\n`); }, warn: (message) => warn(message),
      });
    } catch (error) {
      if (options.store === undefined) await store.close();
      throw error;
    }
  }
  const gatedPublishing = publishing;
  // The configured channels; a delivery that is dead-lettered raises a notification_failing alert.
  const built: { service?: GatewayService } = {};
  const channelNotifier = options.notifier !== undefined ? undefined : createConfiguredNotifier(config, {
    store, clock, vault, warn: (message) => warn(message),
    ...(options.notifications?.scheduler === undefined ? {} : { scheduler: options.notifications.scheduler }),
    ...(options.notifications?.random === undefined ? {} : { random: options.notifications.random }),
    onDeadLetter: async (delivery) => { if (built.service !== undefined) await raiseAlert(built.service.deps, notificationFailing(delivery)); },
  });
  const notifier = options.notifier ?? channelNotifier;
  const service = createGatewayService({
    config, store, connectors, clock, ids,
    ...(gatedPublishing === undefined ? {} : { trailGate: () => gatedPublishing.gate(), latestCheckpoint: () => gatedPublishing.latest() }),
    ...(notifier === undefined ? {} : { notifier }),
    metrics: options.metrics ?? createPrometheusMetrics(),
    ...(options.rateLimiter === undefined ? {} : { rateLimiter: options.rateLimiter }),
  });
  built.service = service;
  await service.recordStart();
  await channelNotifier?.start();
  if (options.recover !== false) await service.recoverInterrupted();
  // Aborted first when the gateway closes: held MCP calls answer "pending" instead of holding the close.
  const stopping = new AbortController();
  const app = await buildApp({
    service, ...(options.logger === undefined ? {} : { logger: options.logger }),
    extraRoutes: (fastify) => registerMcpRoute(fastify, { service, shutdown: stopping.signal, bodyLimit: callBodyLimit(config), agentOf: (request) => requireAgent(request.principal) }),
  });
  const interval = options.expiryIntervalMs ?? 5000;
  const timer = interval > 0 ? setInterval(() => { service.expireDue().catch((error: unknown) => app.log.error({ err: error }, 'expiring pending proposals failed')); }, interval) : undefined;
  timer?.unref();
  const alertsEvery = options.alertsIntervalMs ?? config.alerts.evaluateEveryMs;
  const alertsTimer = alertsEvery > 0 ? setInterval(() => { service.evaluateAlerts().catch((error: unknown) => app.log.error({ err: error }, 'evaluating the alert rules failed')); }, alertsEvery) : undefined;
  alertsTimer?.unref();
  warn = (message) => app.log.warn(message);
  const cutTimer = gatedPublishing === undefined ? undefined
    : setInterval(() => { gatedPublishing.poll().catch((error: unknown) => app.log.error({ err: error }, 'cutting an audit checkpoint failed')); }, Math.min(1000, checkpoints?.everyMs ?? 1000));
  cutTimer?.unref();
  return {
    config, store, service, app, connectors, vault, warnings: listed.warnings, ...(channelNotifier === undefined ? {} : { notifier: channelNotifier }),
    async close() {
      stopping.abort();
      if (timer !== undefined) clearInterval(timer);
      if (alertsTimer !== undefined) clearInterval(alertsTimer);
      if (cutTimer !== undefined) clearInterval(cutTimer);
      await app.close();
      // Retries still due stay pending in the store; the next start resumes them.
      await channelNotifier?.close();
      for (const connector of connectors.values()) await connector.close();
      // The last events are covered by a checkpoint before the store closes.
      await gatedPublishing?.close().catch((error: unknown) => app.log.error({ err: error }, 'cutting the last audit checkpoint failed'));
      await store.close();
    },
  };
}
