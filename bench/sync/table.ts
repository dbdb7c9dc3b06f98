// Requests per endpoint, from the simulators' own request logs, next to the minimum (minimum.ts).
import { NEEDS, type NeedId } from './minimum.js';

/** What the table needs of a simulator's request-log entry (GitHub's and PagerDuty's logs both fit). */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  route: string;
  /** GraphQL points of the request, when the simulator records them. */
  points?: number;
  /** The request body, when the simulator records it (GitHub's POST /graphql). */
  body?: string;
}

/** Not the API (the 302's signed storage URL): never charged. */
export const BLOB_ROUTE = 'GET /_blob/artifacts/{artifact_id}.zip';
const FREE_ROUTES = new Set(['GET /rate_limit', BLOB_ROUTE]);
export const GRAPHQL_ROUTE = 'POST /graphql';

export interface Row {
  source: 'github' | 'pagerduty';
  route: string;
  requests: number;
  notModified: number;
  /** GitHub: non-304 REST answers (blob downloads and /rate_limit excepted) plus GraphQL points; PagerDuty: every request. */
  charged: number;
  /** GraphQL points (already inside `charged`). */
  points: number;
  /** The minimum shown on this row; null: not charged or not needed. */
  minimum: number | null;
  need: NeedId | null;
  /** true: the row reads data whose minimum is counted on the need's own route (not added to totals twice). */
  alternative: boolean;
}

export interface Table {
  rows: Row[];
  totals: Record<'github' | 'pagerduty' | 'all', { requests: number; notModified: number; charged: number; points: number; minimum: number }>;
}

export function charge(source: 'github' | 'pagerduty', r: LoggedRequest): number {
  if (source === 'pagerduty') return 1;
  if (r.route === GRAPHQL_ROUTE) return r.points ?? 0;
  if (FREE_ROUTES.has(r.route) || r.status === 304) return 0;
  return 1;
}

/** The table of one phase: its slice of each simulator's log and the minimum per need. */
export function buildTable(logs: { github: LoggedRequest[]; pagerduty: LoggedRequest[] }, minimum: Map<NeedId, number>): Table {
  const rows = new Map<string, Row>();
  const row = (source: 'github' | 'pagerduty', route: string): Row => {
    let r = rows.get(route);
    if (!r) {
      const primary = NEEDS.find((n) => n.route === route);
      const alt = NEEDS.find((n) => n.alternatives.includes(route));
      const need = primary ?? alt ?? null;
      r = {
        source,
        route,
        requests: 0,
        notModified: 0,
        charged: 0,
        points: 0,
        minimum: route === BLOB_ROUTE ? null : need ? (minimum.get(need.id) ?? 0) : 0,
        need: need?.id ?? null,
        alternative: !primary && !!alt,
      };
      rows.set(route, r);
    }
    return r;
  };
  // Every need's own route is shown, even when the current code never calls it.
  for (const n of NEEDS) row(n.source, n.route);
  for (const source of ['github', 'pagerduty'] as const) {
    for (const req of logs[source]) {
      const r = row(source, req.route);
      r.requests++;
      if (req.status === 304) r.notModified++;
      r.points += req.points ?? 0;
      r.charged += charge(source, req);
    }
  }
  const order = (r: Row) => (r.need ? NEEDS.findIndex((n) => n.id === r.need) : NEEDS.length) * 2 + (r.alternative ? 1 : 0);
  const sorted = [...rows.values()].sort((a, b) => (a.source === b.source ? 0 : a.source === 'github' ? -1 : 1) || order(a) - order(b) || a.route.localeCompare(b.route));
  const zero = () => ({ requests: 0, notModified: 0, charged: 0, points: 0, minimum: 0 });
  const totals = { github: zero(), pagerduty: zero(), all: zero() };
  for (const r of sorted) {
    for (const t of [totals[r.source], totals.all]) {
      t.requests += r.requests;
      t.notModified += r.notModified;
      t.charged += r.charged;
      t.points += r.points;
      if (!r.alternative && r.minimum !== null) t.minimum += r.minimum;
    }
  }
  return { rows: sorted, totals };
}

const ratio = (charged: number, min: number | null) => (min === null ? '' : min === 0 ? (charged === 0 ? '1.00x' : 'inf') : `${(charged / min).toFixed(2)}x`);
const num = (n: number) => n.toLocaleString('en-US');

/** The table as text: one row per endpoint, then the totals. */
export function formatTable(t: Table): string {
  const head = ['endpoint (simulator route)', 'requests', '304s', 'charged', 'minimum', 'ratio'];
  const lines: string[][] = [];
  for (const r of t.rows) {
    const mark = r.alternative ? ` [${r.need}*]` : r.need ? ` [${r.need}]` : '';
    const min = r.minimum === null ? '-' : r.alternative ? `(${num(r.minimum)})` : num(r.minimum);
    const rat = r.requests === 0 && !r.alternative && (r.minimum ?? 0) > 0 ? 'not called' : ratio(r.charged, r.minimum);
    lines.push([`${r.route}${mark}`, num(r.requests), num(r.notModified), num(r.charged), min, rat]);
  }
  const total = (label: string, x: Table['totals']['all']) => [label, num(x.requests), num(x.notModified), num(x.charged), num(x.minimum), ratio(x.charged, x.minimum)];
  const foot = [total('GitHub total', t.totals.github), total('PagerDuty total', t.totals.pagerduty), total('all sources', t.totals.all)];
  const widths = head.map((h, i) => Math.max(h.length, ...[...lines, ...foot].map((l) => (l[i] ?? '').length)));
  const fmt = (l: string[]) => `| ${l.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [fmt(head), rule, ...lines.map(fmt), rule.replace(/-/g, '='), ...foot.map(fmt)].join('\n');
}

export function legend(): string {
  return [
    'charged: GitHub REST answers that are not 304 (blob downloads behind the 302 and /rate_limit are free) plus GraphQL points',
    '  (read from the simulator log\'s `points`, 0 when absent); every PagerDuty request. ratio = charged / minimum.',
    'minimum [X]: the least the API allows for the config\'s key results (bench/sync/minimum.ts):',
    ...NEEDS.map((n) => `  [${n.id}] ${n.name}: ${n.route} - ${n.formula}`),
    '[X*]: a route of the current code with minimum 0 in the target design; shown (in parentheses) against the minimum of the',
    '  cheapest way to get the same data, which is counted once, on [X]\'s row, in the totals.',
    'Later syncs: per group only the new or changed items count; a group without changes is free on GitHub (304) and one',
    '  page on PagerDuty (no conditional requests).',
  ].join('\n');
}
