// Step 1: YAML text to a syntax tree that remembers where everything is. YAML 1.2 core schema,
// so `2026-10-01` stays text (no implicit timestamps) and `on`/`yes` stay text.
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';

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
  return restore(doc.toJS({ maxAliasCount: 1000 }));
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
