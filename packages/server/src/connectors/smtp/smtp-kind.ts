/** The `kind: smtp` system kind: email sent through a mail server; always high risk and irreversible. */
import type { SystemKind } from '../connector.js';
import { smtpActionSpecs } from './smtp-actions.js';
import { createSmtpConnector } from './smtp-connector.js';
import { compileSmtpSystem, smtpSystemSchema, type SmtpSystemConfig, type SmtpSystemSettings } from './smtp-settings.js';

export const smtpKind: SystemKind<SmtpSystemConfig, SmtpSystemSettings> = {
  kind: 'smtp',
  settings: smtpSystemSchema,
  compile: compileSmtpSystem,
  actionSpecs: (system) => smtpActionSpecs(system),
  connect: (system, deps) => createSmtpConnector(system, deps),
};
