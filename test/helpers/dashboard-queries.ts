// Test-only: the PromQL a generated dashboard's panels send, with Grafana's variables replaced as
// Grafana does, so tests can run each expression against a real Prometheus (test/dashboards*.test.ts).

interface DashboardJson {
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}
interface PanelJson {
  id?: number;
  title?: string;
  targets?: { expr?: unknown; refId?: unknown }[];
  panels?: PanelJson[];
}
interface VariableJson {
  name?: string;
  type?: string;
  includeAll?: boolean;
  allValue?: string;
}

/** Values of Grafana's built-in interval variables; they depend on the time range and the data source. */
export interface GrafanaIntervals {
  /** `$__rate_interval`: max(4 x scrape interval, $__interval + scrape interval). */
  rateInterval: string;
  /** `$__interval`: the time range over the panel's number of points. */
  interval: string;
  /** `$__range`: the dashboard's time range. */
  range: string;
}

/** A scrape interval of 15 s (Grafana's default for a Prometheus data source) and the last hour. */
export const DEFAULT_INTERVALS: GrafanaIntervals = { rateInterval: '1m', interval: '15s', range: '1h' };

export interface PanelQuery {
  panelId: number | null;
  panelTitle: string;
  refId: string;
  expr: string;
}

export interface DashboardQueryOptions {
  /** The expressions as written in the JSON, variables and all. */
  raw?: boolean;
  intervals?: Partial<GrafanaIntervals>;
}

/** Replaces `$name`, `${name}` and `[[name]]`; `$name` only where no word character follows. */
function substitute(text: string, name: string, value: string): string {
  return text
    .split(`\${${name}}`)
    .join(value)
    .split(`[[${name}]]`)
    .join(value)
    .replace(new RegExp(`\\$${name}(?!\\w)`, 'g'), () => value);
}

/**
 * Every PromQL expression the panels of a generated dashboard send (rows' nested panels included),
 * in panel order, with the panel it belongs to. Unless `raw`, dashboard variables are replaced as
 * Grafana does when "All" is chosen (their allValue) and the built-in `$__rate_interval`,
 * `$__interval` and `$__range` by `intervals`, so each expression can be sent to a Prometheus as it
 * is. Variable queries (`label_values(...)`) are Grafana functions, not PromQL, and are not included.
 */
export function expectedPanelQueries(json: string | object, options: DashboardQueryOptions = {}): PanelQuery[] {
  const dashboard = (typeof json === 'string' ? JSON.parse(json) : json) as DashboardJson;
  const queries: PanelQuery[] = [];
  const visit = (panels: PanelJson[] | undefined) => {
    for (const panel of panels ?? []) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string' && target.expr !== '') {
          queries.push({ panelId: panel.id ?? null, panelTitle: panel.title ?? '', refId: String(target.refId ?? ''), expr: target.expr });
        }
      }
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  if (options.raw) return queries;

  const values = new Map<string, string>();
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type === 'query' && v.name && v.includeAll) values.set(v.name, v.allValue ?? '.*');
  }
  const intervals = { ...DEFAULT_INTERVALS, ...options.intervals };
  values.set('__rate_interval', intervals.rateInterval);
  values.set('__interval', intervals.interval);
  values.set('__range', intervals.range);
  return queries.map((query) => ({ ...query, expr: [...values].reduce((text, [name, value]) => substitute(text, name, value), query.expr) }));
}

/** The expressions of expectedPanelQueries alone. */
export function expectedDashboardQueries(json: string | object, options: DashboardQueryOptions = {}): string[] {
  return expectedPanelQueries(json, options).map((q) => q.expr);
}
