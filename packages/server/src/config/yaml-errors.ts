/**
 * YAML mistakes in portcullis.yaml, said so that a person can fix them. Invariant: each
 * mistake is reported once, at the line and column a person must edit, with a hint; what
 * the YAML parser reports after a structural mistake (its recovery guesses) is not shown,
 * and aliases (undefined anchors, alias bombs) are checked before the document is turned
 * into values, so they too carry a position.
 */
import { isAlias, isCollection, isPair, isScalar, visit, type Alias, type Document, type LineCounter, type Node, type Scalar, type YAMLError } from 'yaml';

/** A YAML problem at a 1-based position. */
export interface YamlProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** How many aliases a document may expand to before it is refused (an "alias bomb"). */
export const MAX_ALIAS_COUNT = 100;

interface Lines {
  readonly text: string;
  readonly counter: LineCounter;
  /** The text of 1-based line `n`, without its end of line. */
  line(n: number): string;
}

function linesOf(text: string, counter: LineCounter): Lines {
  const all = text.split(/\r?\n/);
  return { text, counter, line: (n) => all[n - 1] ?? '' };
}

/** The 1-based column of the first character of a line that is not a space or a tab. */
function firstColumn(line: string): number {
  const match = /[^ \t]/.exec(line);
  return match === null ? 1 : match.index + 1;
}

/** The key of a `key: value` line, if it is one. */
function keyOf(line: string): string | undefined {
  return /^\s*(?:-\s+)?([^\s:#][^:#]*?)\s*:(?:\s|$)/.exec(line)?.[1];
}

function at(lines: Lines, offset: number): { line: number; col: number } {
  return lines.counter.linePos(Math.min(offset, lines.text.length));
}

/** The structural mistakes a parser reports, reworded with where to edit and how. */
function explain(error: YAMLError, next: YAMLError | undefined, lines: Lines): YamlProblem {
  const { line, col } = at(lines, error.pos[0]);
  const text = lines.line(line);
  const message = error.message.split('\n')[0] ?? error.message;
  if (error.code === 'BAD_INDENT' && /must start at the same column/.test(message)) {
    const key = keyOf(text);
    return { line, column: firstColumn(text), message: `YAML: bad indentation: ${key === undefined ? 'this line' : `"${key}:"`} is indented differently from the keys above it; indent it with spaces to the same column as the other keys of its mapping` };
  }
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY' && /block sequence/.test(message)) {
    return { line, column: firstColumn(text), message: 'YAML: bad indentation: this list item is indented differently from the items above it; line up its "-" with theirs' };
  }
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY' && next?.code === 'MULTILINE_IMPLICIT_KEY' && next.pos[0] === error.pos[0]) {
    // A value continued onto a more indented line that holds "key: value": that line is the mistake.
    let n = line + 1;
    while (n < lines.text.length && lines.line(n).trim() === '') n += 1;
    const over = lines.line(n);
    const key = keyOf(over);
    const owner = keyOf(text);
    return { line: n, column: firstColumn(over), message: `YAML: bad indentation: ${key === undefined ? 'this line' : `"${key}:"`} is indented more than ${owner === undefined ? 'the line above' : `"${owner}:"`} above it, so it reads as part of that value; indent it to the same column as ${owner === undefined ? 'its sibling keys' : `"${owner}:"`}` };
  }
  if (error.code === 'BLOCK_AS_IMPLICIT_KEY' && /Nested mappings/.test(message)) {
    const colon = text.indexOf(': ', col - 1);
    const key = keyOf(text);
    const value = text.slice(col - 1).trim();
    const fix = key === undefined ? 'put the value in quotes' : `put the value in quotes: ${key}: ${JSON.stringify(value)}`;
    return { line, column: colon >= 0 ? colon + 1 : col, message: `YAML: unquoted ": " inside a value (YAML says "Nested mappings are not allowed in compact mappings"): a colon followed by a space starts a key; ${fix}` };
  }
  if (/end with an? [\]}]/.test(message)) {
    const open = unclosedBracket(lines.text, error.pos[0]);
    if (open !== undefined) {
      const p = at(lines, open);
      return { line: p.line, column: p.col, message: `YAML: this ${lines.text[open] === '[' ? '[ list' : '{ mapping'} is not closed: add the closing ${lines.text[open] === '[' ? ']' : '}'} on the same line (or indent its continuation lines further)` };
    }
  }
  return { line, column: col, message: `YAML syntax error: ${message}` };
}

/** The offset of the last `[` or `{` before `end` that is not closed before it (quotes ignored). */
function unclosedBracket(text: string, end: number): number | undefined {
  const stack: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < Math.min(end, text.length); i += 1) {
    const c = text[i] as string;
    if (quote !== undefined) { if (c === quote) quote = undefined; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) { while (i < text.length && text[i] !== '\n') i += 1; }
    else if (c === '[' || c === '{') stack.push(i);
    else if (c === ']' || c === '}') stack.pop();
  }
  return stack[stack.length - 1];
}

/** The key written at `offset` and the line of its first writing in the same mapping (for duplicate keys). */
function duplicateKey(doc: Document, offset: number, counter: LineCounter): { key: string; first?: number } | undefined {
  let found: { key: string; first?: number } | undefined;
  visit(doc, {
    Map: (_key, map) => {
      const at = map.items.findIndex((pair) => isScalar(pair.key) && pair.key.range?.[0] === offset);
      if (at < 0) return undefined;
      const key = String((map.items[at]?.key as Scalar).value);
      const earlier = map.items.slice(0, at).find((pair) => isScalar(pair.key) && String(pair.key.value) === key);
      const start = earlier === undefined ? undefined : (earlier.key as Scalar).range?.[0];
      found = start === undefined ? { key } : { key, first: counter.linePos(start).line };
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * The parser's errors as problems a person can act on: tabs as one problem listing their
 * lines, duplicate keys each with where the key was first written, and of the structural
 * errors the first of each region (later errors on lines it spans, or on lines indented with
 * tabs, are the parser's follow-ons and are dropped).
 */
export function explainYamlErrors(doc: Document, text: string, counter: LineCounter): YamlProblem[] {
  const { errors } = doc;
  const lines = linesOf(text, counter);
  const out: YamlProblem[] = [];
  const tabLines = [...new Set(errors.filter((e) => e.code === 'TAB_AS_INDENT').map((e) => at(lines, e.pos[0]).line))];
  const first = tabLines[0];
  if (first !== undefined) {
    const more = tabLines.slice(1);
    out.push({ line: first, column: 1, message: `YAML: a tab is used for indentation; YAML indents with spaces only: replace the tabs with spaces${more.length > 0 ? ` (also on line${more.length === 1 ? '' : 's'} ${more.join(', ')})` : ''}` });
  }
  let lastLine = 0;
  errors.forEach((error, i) => {
    if (error.code === 'TAB_AS_INDENT') return;
    const start = at(lines, error.pos[0]).line;
    if (error.code === 'DUPLICATE_KEY') {
      const { col } = at(lines, error.pos[0]);
      const duplicate = duplicateKey(doc, error.pos[0], counter);
      const key = duplicate?.key ?? keyOf(lines.line(start)) ?? '';
      out.push({ line: start, column: col, message: `YAML: duplicate key ${JSON.stringify(key)}${duplicate?.first === undefined ? '' : ` (first written on line ${duplicate.first})`}: a mapping holds each key once; merge the two or rename one` });
      return;
    }
    if (start <= lastLine || tabLines.includes(start)) return;
    const problem = explain(error, errors[i + 1], lines);
    out.push(problem);
    lastLine = Math.max(start, problem.line, at(lines, error.pos[1]).line, ...errors.slice(i + 1).filter((e) => e.pos[0] === error.pos[0]).map((e) => at(lines, e.pos[1]).line));
  });
  return out;
}

function positionOf(node: Node | Alias, counter: LineCounter): { line: number; column: number } {
  const { line, col } = counter.linePos(node.range?.[0] ?? 0);
  return { line, column: col };
}

/**
 * Aliases (`*name`) with no anchor (`&name`) before them, each at its position.
 */
export function undefinedAliases(doc: Document, counter: LineCounter): YamlProblem[] {
  const out: YamlProblem[] = [];
  const aliases: Alias[] = [];
  visit(doc, { Alias: (_key, node) => { aliases.push(node); } });
  for (const alias of aliases) {
    if (alias.resolve(doc) === undefined) {
      out.push({ ...positionOf(alias, counter), message: `YAML: alias "*${alias.source}" refers to no anchor: write "&${alias.source}" on the value it should repeat, above this line (an anchor must come before its aliases), or write the value here` });
    }
  }
  return out;
}

/**
 * Where the document's aliases exceed MAX_ALIAS_COUNT, counted as the YAML library counts them
 * when it refuses a document (uses of an anchor times the aliases its value holds): the alias
 * that crosses the limit, else the first alias. Call it when `toJS` refused the aliases.
 */
export function aliasBomb(doc: Document, counter: LineCounter): YamlProblem {
  const aliases: Alias[] = [];
  visit(doc, { Alias: (_key, node) => { aliases.push(node); } });
  const anchors = new Map<unknown, { count: number; aliasCount: number }>();
  const aliasCount = (node: unknown): number => {
    if (isAlias(node)) {
      const data = anchors.get(node.resolve(doc));
      return data === undefined ? 0 : data.count * data.aliasCount;
    }
    if (isPair(node)) return Math.max(aliasCount(node.key), aliasCount(node.value));
    if (isCollection(node)) return Math.max(0, ...node.items.map((item: unknown) => aliasCount(item)));
    return 1;
  };
  const message = `YAML: too many aliases: the document's aliases expand beyond ${MAX_ALIAS_COUNT} copies (aliases of anchors that themselves hold aliases multiply, an "alias bomb"), so it is refused; write the values out, or repeat fewer of them`;
  for (const alias of aliases) {
    const target = alias.resolve(doc);
    let data = anchors.get(target);
    if (data === undefined) { data = { count: 0, aliasCount: 0 }; anchors.set(target, data); }
    data.count += 1;
    if (data.aliasCount === 0) data.aliasCount = aliasCount(target);
    if (data.count * data.aliasCount > MAX_ALIAS_COUNT) return { ...positionOf(alias, counter), message };
  }
  const first = aliases[0];
  return { ...(first === undefined ? { line: 1, column: 1 } : positionOf(first, counter)), message };
}
