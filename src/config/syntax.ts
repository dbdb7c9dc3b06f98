// Step 1: YAML text to a syntax tree that remembers where everything is. YAML 1.2 core schema,
// so `2026-10-01` stays text (no implicit timestamps) and `on`/`yes` stay text.
import { isAlias, isCollection, isPair, LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';

/** Limits that keep a hostile or broken file from exhausting memory or the stack. */
export const LIMITS = {
  /** Bytes of the OKR file; a large organisation's file is a few hundred kilobytes. */
  fileBytes: 1024 * 1024,
  /** Mappings and lists inside each other; the OKR format needs about 8. */
  depth: 64,
  /** Aliases resolved when the file is read (YAML's "billion laughs" runs into millions). */
  aliases: 100,
};

/**
 * The first place where the document breaks a limit: nesting deeper than LIMITS.depth, or more
 * than LIMITS.aliases aliases. Iterative, so a deep document cannot overflow the stack here.
 */
export function checkLimits(doc: Document): { offset: number; message: string } | null {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: doc.contents, depth: 0 }];
  let aliases = 0;
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (isAlias(node)) {
      aliases++;
      if (aliases > LIMITS.aliases) {
        return {
          offset: node.range?.[0] ?? 0,
          message: `the file uses more than ${LIMITS.aliases} YAML aliases (*name); write the values out, or use fewer anchors`,
        };
      }
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth >= LIMITS.depth) {
      return {
        offset: node.range?.[0] ?? 0,
        message: `mappings and lists are nested more than ${LIMITS.depth} levels deep here; the OKR file needs far fewer, so flatten this part`,
      };
    }
    // Last item first, so that nodes come off the stack in document order.
    for (const item of [...node.items].reverse()) {
      if (isPair(item)) {
        stack.push({ node: item.value, depth: depth + 1 });
        stack.push({ node: item.key, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return null;
}

/** Where the first alias (*name) of the document is; 0 when it has none. */
export function firstAliasOffset(doc: Document): number {
  let first = Infinity;
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) first = Math.min(first, node.range?.[0] ?? Infinity);
    else if (isCollection(node)) for (const item of node.items) stack.push(...(isPair(item) ? [item.key, item.value] : [item]));
  }
  return Number.isFinite(first) ? first : 0;
}

/** What replaces a parser error that comes from the stack running out (a file nested too deep). */
export const TOO_DEEP = `mappings and lists are nested too deep here; the OKR file needs fewer than ${LIMITS.depth} levels, so flatten this part`;

export interface Parsed {
  doc: Document;
  lineCounter: LineCounter;
}

// CONFIG.md writes `{ type: slack, webhookUrl: ${SLACK_WEBHOOK_URL} }`, but in a YAML flow mapping
// `{` and `}` end a plain scalar. Before parsing, the braces of each ${...} reference become two
// private-use characters of the same length (so every offset stays right); restoreBraces() turns
// them back in the parsed values.
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*(?::-[^{}\n]*)?)\}/g;
const OPEN = '\uE000';
const CLOSE = '\uE001';

export function parseYaml(text: string): Parsed {
  const lineCounter = new LineCounter();
  const protectedText = text.replace(REFERENCE, (_, inner: string) => `$${OPEN}${inner}${CLOSE}`);
  const doc = parseDocument(protectedText, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    schema: 'core',
    version: '1.2',
  });
  return { doc, lineCounter };
}

export function restoreBraces(text: string): string {
  return text.includes(OPEN) || text.includes(CLOSE) ? text.replaceAll(OPEN, '{').replaceAll(CLOSE, '}') : text;
}

/** The parsed document as plain values, with ${...} references as written. */
export function documentValue(doc: Document): unknown {
  const restore = (node: unknown): unknown => {
    if (typeof node === 'string') return restoreBraces(node);
    if (Array.isArray(node)) return node.map(restore);
    if (node !== null && typeof node === 'object' && !(node instanceof Date)) {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [restoreBraces(key), restore(value)]));
    }
    return node;
  };
  // checkLimits() has bounded the number of aliases; this bounds how much each one expands.
  return restore(doc.toJS({ maxAliasCount: LIMITS.aliases }));
}

const HINTS: Partial<Record<YAMLError['code'], string>> = {
  DUPLICATE_KEY: 'this key appears twice in the same mapping; remove or rename one',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MULTIPLE_DOCS: 'keep one document: remove the extra --- line and what follows, or merge them',
  BAD_DQ_ESCAPE: 'use single quotes, or escape the backslash as \\\\',
  MISSING_CHAR: 'add the missing character (a closing quote or bracket, or a colon after the key)',
  BAD_ALIAS: 'define the anchor (&name) before the alias (*name)',
};

/** What the YAML parser said, and how to fix it; YAML's own message has no fix. */
export function describeYamlError(error: YAMLError): string {
  if (/call stack/i.test(error.message)) return `YAML syntax error: ${TOO_DEEP}`;
  // `Unexpected scalar token in YAML stream: "<source text>"`: the text may be an inline secret.
  const what =
    error.code === 'MULTIPLE_DOCS'
      ? 'the file holds more than one YAML document'
      : restoreBraces(error.message).replace(/:\s*".*$/s, '').replace(/\.$/, '');
  const fix =
    HINTS[error.code] ??
    'check the indentation of this line against the lines above it, and quote values that contain ": " or " #" or start with {, [, *, & or @';
  return `YAML syntax error: ${what}; ${fix}`;
}
