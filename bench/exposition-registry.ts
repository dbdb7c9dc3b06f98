// A bare prom-client registry holding the series of a text exposition: the baseline of
// `npm run bench:scrape` (what serving the same series from prom-client costs), and the reference
// the renderer's text is compared with in test/served.redis.test.ts.
import { Counter, Gauge, Registry } from 'prom-client';

interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: { labels: Record<string, string>; value: number }[];
}

const unescapeHelp = (s: string) => s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));

/** Labels `{a="x",b="y"}` of one sample line, unescaped. */
function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const m of text.matchAll(re)) out[m[1]!] = m[2]!.replace(/\\(\\|n|")/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return out;
}

/** The families of a Prometheus text exposition (gauges and counters, as kr-tracker writes them). */
export function parseExposition(text: string): Family[] {
  const families: Family[] = [];
  let current: Family | null = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      current = { name: rest.slice(0, sp), help: unescapeHelp(rest.slice(sp + 1)), type: 'gauge', samples: [] };
      families.push(current);
    } else if (line.startsWith('# TYPE ')) {
      if (current) current.type = line.endsWith(' counter') ? 'counter' : 'gauge';
    } else if (current) {
      const brace = line.indexOf('{');
      const space = line.lastIndexOf(' ');
      const labels = brace >= 0 && brace < space ? parseLabels(line.slice(brace, line.lastIndexOf('}') + 1)) : {};
      current.samples.push({ labels, value: Number(line.slice(space + 1)) });
    }
  }
  return families;
}

/** A registry whose metrics() prints those families, each series set once (no collect hooks). */
export function registryOf(families: readonly Family[]): Registry {
  const registry = new Registry();
  for (const f of families) {
    // A family without samples still needs a label name: an unlabelled gauge prints a default 0.
    const names = [...new Set(f.samples.flatMap((s) => Object.keys(s.labels)))];
    const labelNames = names.length || f.samples.length ? names : ['label'];
    if (f.type === 'counter') {
      const c = new Counter({ name: f.name, help: f.help, labelNames, registers: [registry] });
      for (const s of f.samples) c.inc(s.labels, s.value);
    } else {
      const g = new Gauge({ name: f.name, help: f.help, labelNames, registers: [registry] });
      for (const s of f.samples) g.set(s.labels, s.value);
    }
  }
  return registry;
}
