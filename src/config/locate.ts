// Paths back to lines and columns: walks the YAML syntax tree kept by parseDocument.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { Path } from './path.js';

export interface Position {
  line: number;
  column: number;
}

type Locator = (path: Path, at?: 'key' | 'value') => Position;

/**
 * Finds the node at `path`: its value, or its key when `at` is 'key'. A path that does not exist
 * (a missing key) stops at the deepest node that does, usually the parent mapping.
 */
export function locator(doc: Document, lineCounter: LineCounter): Locator {
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return (path, at = 'value') => {
    let node: unknown = doc.contents;
    let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
    for (const [i, part] of path.entries()) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part));
        if (!pair) break;
        const keyStart = (pair.key as Node).range?.[0] ?? offset;
        const value = pair.value as Node | null;
        // `key:` with nothing after it has an empty value node: point at the key instead.
        const valueStart = value?.range && value.range[1] > value.range[0] ? value.range[0] : undefined;
        if (valueStart === undefined || (at === 'key' && i === path.length - 1)) return position(keyStart);
        node = value;
        offset = valueStart;
      } else if (isSeq(node) && typeof part === 'number') {
        const item = node.items[part] as Node | undefined;
        if (!item?.range) break;
        node = item;
        offset = item.range[0];
      } else {
        break;
      }
    }
    return position(offset);
  };
}
