/**
 * Finds where a config path is in the YAML source, so every error can say FILE:LINE:COLUMN.
 * When the path does not exist in the file (a missing key), the position is that of the
 * nearest parent that does: the key that names it, or the list item that holds it.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { PathSegment } from './issues.js';

/** A 1-based position in a file. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

function positionOf(node: Node | null | undefined, counter: LineCounter): Position | undefined {
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = counter.linePos(offset);
  return { line, column: col };
}

/**
 * The position of `path` in `doc`: its value, or its key when `at` is 'key' (or when the
 * value is empty, like `runbook:` with nothing after it). Falls back to the nearest parent.
 */
export function locatePath(doc: Document, counter: LineCounter, path: readonly PathSegment[], at: 'key' | 'value' = 'value'): Position {
  let node: unknown = doc.contents;
  let fallback: Position = positionOf(doc.contents, counter) ?? { line: 1, column: 1 };
  for (let i = 0; i < path.length; i += 1) {
    const segment = path[i] as PathSegment;
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) return fallback;
      const keyPosition = positionOf(pair.key as Node, counter) ?? fallback;
      if (i === path.length - 1 && at === 'key') return keyPosition;
      fallback = keyPosition;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item: unknown = node.items[segment];
      if (item === undefined) return fallback;
      fallback = positionOf(item as Node, counter) ?? fallback;
      node = item;
    } else {
      return fallback;
    }
  }
  if (isAlias(node)) node = node.resolve(doc);
  if (node === null || node === undefined || (isScalar(node) && node.value === null && node.source === '')) return fallback;
  return positionOf(node as Node, counter) ?? fallback;
}
