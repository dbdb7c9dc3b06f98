import { Secret } from '../core/secret.js';

/**
 * A function that replaces every secret value found in `roots` (the config, the SMTP settings)
 * with `[secret NAME]`. Secrets never enter messages or logs on purpose; this catches the
 * accidents: a library error that quotes a URL, a source error kept in a result.
 */
export function secretRedactor(...roots: unknown[]): (text: string) => string {
  const secrets: Secret[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (v instanceof Secret) {
      // Very short values would blank out ordinary words; they are not real secrets.
      if (v.reveal().length >= 6) secrets.push(v);
      return;
    }
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) walk(child);
  };
  roots.forEach(walk);
  // Longest first, so a secret that contains another is replaced whole.
  secrets.sort((a, b) => b.reveal().length - a.reveal().length);
  return (text) => secrets.reduce((t, s) => t.split(s.reveal()).join(s.toString()), text);
}
