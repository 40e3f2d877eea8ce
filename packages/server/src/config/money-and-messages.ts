/**
 * Money and messages named as such. Invariant: a write (any action that is not a read) whose
 * name, resource or description says it moves money (refund, payment, payout, charge,
 * transfer, invoice, wire, withdrawal, purchase, gift card…) or sends a message out of the
 * company (send, email, SMS, tweet, publish, posting to a channel…) is not loaded as a plain write: the config must class it, either high (a tag or
 * `risk: high`) or declared not money or messages with a stated reason (a false positive of
 * the name check). So an untagged `POST /refunds` can never run automatically.
 */
import type { ActionSpec } from './action-spec.js';
import type { CompiledAction } from './compiled.js';

const MONEY = [
  'refund', 'payment', 'pay', 'payout', 'charge', 'transfer', 'invoice', 'billing', 'wire', 'withdraw', 'withdrawal',
  'deposit', 'money', 'fund', 'purchase', 'buy', 'checkout', 'gift', 'giftcard', 'credit', 'debit', 'payroll', 'salary', 'wallet',
];
const MESSAGES = ['send', 'email', 'mail', 'sms', 'notify', 'notification', 'message', 'tweet', 'publish', 'broadcast', 'announce'];

/** The words of an identifier or a text: camelCase, snake_case, kebab-case and paths split, lower case. */
function words(text: string): string[] {
  return text.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter((w) => w !== '');
}

/** A plural or simple inflection of a stem: refunds, refunded, sending, emails. */
function matches(word: string, stem: string): boolean {
  return word === stem || [`${stem}s`, `${stem}es`, `${stem}ed`, `${stem}ing`, `${stem}d`].includes(word);
}

/**
 * Why an action's naming says money or messages, or undefined when it does not: the word
 * found and where. Reads are never flagged.
 */
export function moneyOrMessageWord(spec: Pick<ActionSpec, 'name' | 'resource' | 'description' | 'verb'>): { word: string; kind: 'money' | 'a message'; where: string } | undefined {
  if (spec.verb === 'read') return undefined;
  const places: [string, string][] = [['name', spec.name.slice(spec.name.indexOf('.') + 1)], ['resource', spec.resource], ['description', spec.description]];
  for (const [where, text] of places) {
    const found = words(text);
    for (const word of found) {
      const money = MONEY.find((stem) => matches(word, stem));
      if (money !== undefined) return { word, kind: 'money', where };
      const message = MESSAGES.find((stem) => matches(word, stem));
      if (message !== undefined) return { word, kind: 'a message', where };
    }
    // "post ... to a channel": a message, whatever the verb is called.
    if (found.includes('post') && found.some((w) => matches(w, 'channel'))) return { word: 'post to a channel', kind: 'a message', where };
  }
  return undefined;
}

/**
 * The problem with loading `action` as it is classed, or undefined: a write named like money or
 * a message must be high or declared not money or messages (`notMoneyOrMessages`).
 */
export function unclassedMoneyOrMessage(action: CompiledAction, declared: string | undefined): string | undefined {
  if (action.risk === 'high' || (declared !== undefined && declared.trim() !== '')) return undefined;
  const found = moneyOrMessageWord(action.spec);
  if (found === undefined) return undefined;
  const tag = found.kind === 'money' ? (found.word.startsWith('refund') ? 'refund' : 'financial') : 'external';
  return `${action.name} is a ${action.risk} action whose ${found.where} says "${found.word}" (${found.kind === 'money' ? 'money' : 'a message leaving the company'}); `
    + `class it before it can load: tag it high (actions: { ${action.name}: { tags: [${tag}] } }), `
    + `or, if it moves no money and sends no message, say why (actions: { ${action.name}: { notMoneyOrMessages: "why" } })`;
}
