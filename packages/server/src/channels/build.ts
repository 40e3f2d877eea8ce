/**
 * Builds the configured notification channels (the `notifications:` section), the notifier over
 * them, and the dead-letter admin. The wiring calls these; nothing else builds a channel.
 */
import type { Actor, Clock } from '@portcullis/core';
import type { CompiledConfig, NotificationsConfig } from '../config/compiled.js';
import type { SmtpSystemConfig } from '../connectors/smtp/smtp-settings.js';
import type { NotificationDelivery, Store } from '../store/store.js';
import type { Vault } from '../vault/vault.js';
import type { Channel } from './channel.js';
import { createNotificationsAdmin, type NotificationsAdmin } from './dead-letters.js';
import type { RetryPolicy } from './deliveries.js';
import { createEmailChannel } from './email/email-channel.js';
import { createChannelNotifier, type ChannelNotifier } from './notifier.js';
import { createTimerScheduler, type Scheduler } from './scheduler.js';
import { createWebhookChannel } from './webhook/webhook-channel.js';

/** The channels of a config's `notifications:` section (none without one). */
export function buildChannels(config: CompiledConfig, vault: Vault | undefined): Channel[] {
  const settings = config.notifications;
  if (settings === undefined) return [];
  const channels: Channel[] = settings.webhooks.map((webhook) => createWebhookChannel(webhook, {
    ...(vault === undefined ? {} : { vault }), timeoutMs: settings.timeoutMs, maxResponseBytes: settings.maxResponseBytes,
  }));
  const email = settings.email;
  const system = email === undefined ? undefined : config.systems.get(email.system);
  if (email !== undefined && system?.kind === 'smtp') {
    channels.push(createEmailChannel({
      system: system as SmtpSystemConfig, people: config.people, timeoutMs: settings.timeoutMs,
      ...(email.kinds === undefined ? {} : { kinds: email.kinds }), ...(vault === undefined ? {} : { vault }),
    }));
  }
  return channels;
}

/** The retry policy of a notifications section. */
export function retryPolicy(settings: NotificationsConfig, random: () => number = Math.random): RetryPolicy {
  return { attempts: settings.attempts, backoffMs: settings.backoffMs, maxBackoffMs: settings.maxBackoffMs, random };
}

/** What the notifier of a config is built over. */
export interface NotifierOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly vault?: Vault;
  /** Default: Node timers on `clock`. */
  readonly scheduler?: Scheduler;
  /** Default Math.random. */
  readonly random?: () => number;
  readonly onDeadLetter?: (delivery: NotificationDelivery) => Promise<void> | void;
  readonly warn?: (message: string) => void;
  /** Replace the configured channels (tests of the notifier itself). */
  readonly channels?: readonly Channel[];
}

/** The notifier of a config, or undefined when it has no `notifications:` section. */
export function createConfiguredNotifier(config: CompiledConfig, options: NotifierOptions): ChannelNotifier | undefined {
  if (config.notifications === undefined) return undefined;
  return createChannelNotifier({
    store: options.store, clock: options.clock, scheduler: options.scheduler ?? createTimerScheduler(options.clock),
    channels: options.channels ?? buildChannels(config, options.vault), retry: retryPolicy(config.notifications, options.random),
    ...(options.onDeadLetter === undefined ? {} : { onDeadLetter: options.onDeadLetter }), ...(options.warn === undefined ? {} : { warn: options.warn }),
  });
}

/** The dead-letter admin of a config, or undefined when it has no `notifications:` section. */
export function createConfiguredNotificationsAdmin(config: CompiledConfig, deps: { store: Store; clock: Clock; vault?: Vault; actor: Actor }): NotificationsAdmin | undefined {
  if (config.notifications === undefined) return undefined;
  return createNotificationsAdmin({ store: deps.store, clock: deps.clock, channels: buildChannels(config, deps.vault), retry: retryPolicy(config.notifications), actor: deps.actor });
}
