// The route table of the simulators: patterns such as `/repos/{owner}/{repo}/deployments/{deployment_id}`
// matched segment by segment (each segment URI-decoded; a trailing slash ignored). `{name}` takes
// one segment, `{name+}` the rest of the path (one segment or more, joined by `/`). The first
// route that matches wins, so a more specific pattern goes before a catch-all one.

/** The path's segments, decoded, without the leading slash and a trailing empty one. */
export function pathSegments(path: string): string[] {
  const seg = path.split('/').slice(1).map((s) => decodeURIComponent(s));
  if (seg.length > 1 && seg[seg.length - 1] === '') seg.pop();
  return seg;
}

export interface Route<H> {
  /** Methods served, e.g. ['GET', 'HEAD']. */
  methods: readonly string[];
  pattern: string;
  /** The label of the request log, e.g. `GET /incidents/{id}` (default: first method + pattern). */
  label?: string;
  handler: (params: Record<string, string>) => H;
}

export interface RouteMatch<H> {
  label: string;
  handler: H;
}

type Part = { literal: string } | { param: string; rest: boolean };

/** A matcher over `routes`: (method, path) -> the route's label and its handler, or null. */
export function routeTable<H>(routes: readonly Route<H>[]): (method: string, path: string) => RouteMatch<H> | null {
  const compiled = routes.map((r) => ({
    route: r,
    label: r.label ?? `${r.methods[0]} ${r.pattern.replace(/\{(\w+)\+\}/g, '{$1}')}`,
    parts: pathSegments(r.pattern).map((s): Part => {
      const m = /^\{(\w+)(\+?)\}$/.exec(s);
      return m ? { param: m[1] as string, rest: m[2] === '+' } : { literal: s };
    }),
  }));
  return (method, path) => {
    const seg = pathSegments(path);
    for (const { route, label, parts } of compiled) {
      if (!route.methods.includes(method)) continue;
      const params = matchParts(parts, seg);
      if (params) return { label, handler: route.handler(params) };
    }
    return null;
  };
}

function matchParts(parts: readonly Part[], seg: readonly string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as Part;
    if ('literal' in p) {
      if (seg[i] !== p.literal) return null;
      continue;
    }
    if (p.rest) {
      if (seg.length <= i) return null;
      params[p.param] = seg.slice(i).join('/');
      return params;
    }
    if (seg[i] === undefined) return null;
    params[p.param] = seg[i] as string;
  }
  return seg.length === parts.length ? params : null;
}
