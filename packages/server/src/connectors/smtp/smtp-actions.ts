/**
 * The action an SMTP system offers: `<system>.email.send`. Sending is external
 * communication: the verb `send` makes it high risk (always approved by a person), and it is
 * irreversible, which every proposal says up front. Invariants: recipients are email
 * addresses, the subject is one line (no header injection), and every recipient counts as a
 * record against the workflow's per-action bound.
 */
import { z } from 'zod';
import type { ActionSpec } from '../../config/action-spec.js';

/** The most recipients (to and cc together) one email may have, whatever the workflow's bound. */
export const SMTP_MAX_RECIPIENTS = 100;
/** The largest text or HTML part accepted, in characters. */
export const SMTP_MAX_BODY = 200_000;

const address = z.email({ error: 'expected an email address' });

/** The params of `<system>.email.send`. */
export const emailSendParams = z.strictObject({
  to: z.array(address).min(1, { error: 'name at least one recipient' }).max(SMTP_MAX_RECIPIENTS),
  cc: z.array(address).max(SMTP_MAX_RECIPIENTS).optional(),
  subject: z.string().trim().min(1, { error: 'the subject must not be empty' }).max(998)
    .refine((s) => !/[\r\n]/.test(s), { error: 'the subject is one line: no line breaks' }),
  text: z.string().max(SMTP_MAX_BODY),
  html: z.string().max(SMTP_MAX_BODY).optional(),
});

/** Valid params of `<system>.email.send`. */
export type EmailSendParams = z.infer<typeof emailSendParams>;

/** The resource of every SMTP action, as grants name it: `mail:email:send`. */
export const EMAIL_RESOURCE = 'email';

/** The actions of an SMTP system. */
export function smtpActionSpecs(system: { readonly name: string }): ActionSpec[] {
  return [{
    name: `${system.name}.${EMAIL_RESOURCE}.send`, system: system.name, resource: EMAIL_RESOURCE, verb: 'send', tags: ['external'],
    reversible: false,
    undo: 'cannot be undone: a sent email cannot be recalled',
    description: 'Send an email (to, cc, subject, text, optional html) from the system\'s configured sender. Irreversible: a sent email cannot be recalled.',
    params: emailSendParams,
    touchedFields: () => [],
    recordCount: (params) => {
      const p = params as EmailSendParams;
      return new Set([...p.to, ...(p.cc ?? [])].map((a) => a.toLowerCase())).size;
    },
  }];
}
