/**
 * Removing known credential values from text that came from elsewhere: what an upstream
 * system answered, an error it reported, what it wrote on standard error. Connectors hold one
 * redactor per system, add each credential they pass upstream, and redact everything the
 * upstream says before it reaches a result, an error message, the audit trail or an agent.
 * Invariant: a value is removed in every form it commonly travels in (as is, URL-encoded,
 * form-encoded, JSON-escaped, base64 and base64url), in any letter case (an upstream that
 * echoes a token lower-cased still echoes the token); values shorter than
 * MIN_REDACTED_LENGTH are not looked for (they would mangle ordinary words).
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';
/** The shortest value that is redacted. */
export const MIN_REDACTED_LENGTH = 4;
/** How many values a redactor keeps (the newest); older ones, e.g. long-expired access tokens, are forgotten. */
export const MAX_REDACTED_VALUES = 64;

/** The redactor of one system's credentials. */
export interface SecretRedactor {
  /** Adds a value to look for (and its encoded forms). */
  add(value: string): void;
  /** The text with every known value replaced by `[redacted]`. */
  redact(text: string): string;
  /** A JSON value with every string (keys included) redacted: a copy, or the value itself while nothing is known. */
  redactJson<T>(value: T): T;
}

/** The forms a value travels in, longest first, so a longer form is replaced before a value inside it. */
function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set([
    value,
    encodeURIComponent(value),
    encodeURIComponent(value).replace(/%20/g, '+'),
    JSON.stringify(value).slice(1, -1),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
  ]);
  return [...forms].filter((form) => form.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
}

/** Creates a redactor; `values` are added first. */
export function createSecretRedactor(values: Iterable<string> = []): SecretRedactor {
  const known = new Map<string, readonly string[]>();
  let forms: readonly string[] = [];
  // Every form, longest first, in one case-insensitive pattern: at each place the longest form that matches wins.
  let pattern: RegExp | undefined;

  const add = (value: string): void => {
    if (value.length < MIN_REDACTED_LENGTH) return;
    const had = known.get(value);
    known.delete(value);
    known.set(value, had ?? encodedForms(value));
    if (had !== undefined) return;
    while (known.size > MAX_REDACTED_VALUES) known.delete(known.keys().next().value as string);
    forms = [...new Set([...known.values()].flat())].sort((a, b) => b.length - a.length);
    pattern = new RegExp(forms.map((form) => form.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'gi');
  };
  const redact = (text: string): string => (pattern === undefined ? text : text.replace(pattern, REDACTED));
  const redactJson = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value);
    if (Array.isArray(value)) return value.map(redactJson);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactJson(v)]));
    return value;
  };
  for (const value of values) add(value);
  return { add, redact, redactJson: <T>(value: T): T => (forms.length === 0 ? value : redactJson(value) as T) };
}
