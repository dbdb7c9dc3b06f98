// What /metrics and /api/v1/* serve: the latest results and source health, held in memory and
// rendered once per change rather than read from Redis and rebuilt on every request.
//
// - The store's change counter (queue/changes.ts) is read once per request: when it has not
//   moved, the text in memory is what Redis holds, and is served as is; when it has (an
//   evaluation or a sync landed, in this process or another), the request waits for the one
//   reload in progress. A background check (every second) reloads and re-renders ahead of the
//   scrapes, so they rarely wait.
// - Statuses depend on the clock (a result older than three evaluation intervals is `no_data`):
//   a rendering holds until the first result turns stale, and is re-rendered from memory then.
// - A reload of the config re-renders from memory.
// - Without a counter (a MemoryStore: `krt demo`, tests) every request reads the store.
import type { Config } from '../config/types.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../core/store.js';
import { planStreams } from '../sync/plan.js';
import { deflatePart, deflatePartSync, gzipOf, type DeflatedPart } from './gzip.js';
import { readSnapshot, renderMetrics, type Snapshot } from './metrics.js';
import type { CheckinStore } from '../checkins/checkin-store.js';
import { objectivesDocument } from './objectives-view.js';
import { sourcesView } from './sources-view.js';

export interface ServedViewOptions {
  store: Store;
  config: () => Config;
  now: () => number;
  logger: Logger;
  /** The store's change counter; none: the store is read for every request. */
  version?: () => Promise<number>;
  /** How often the counter is checked in the background (default 1 s; 0: only per request). */
  pollMs?: number;
  /** The store is read again at least this often, moved counter or not (default 60 s): writers of an older kr-tracker do not count. */
  maxAgeMs?: number;
  /** URLs hidden from clients that did not authenticate (http.ts). */
  redact: (text: string) => string;
  /** Check-ins and revisions, exported next to the results (they move the change counter too). */
  checkins?: CheckinStore;
}

/** A body in both encodings: the gzip one made on first demand (then kept with the rendering). */
export interface Body {
  text: string;
  gzip(): Buffer;
}

export interface Served {
  /** 1 when the store answered this request (the values are current); 0 when it did not. */
  up: boolean;
  /** How long ago the values were last known current, seconds (0 while the store answers). */
  ageSeconds: number;
  /** Null when nothing has been read yet. */
  view: Rendering | null;
}

interface Loaded {
  snap: Snapshot;
  /** The counter read before the data: every change up to it is in `snap`. */
  version: number;
  readAt: number;
}

/** Everything rendered from one load and one config, until `validUntil`. */
export class Rendering {
  readonly metricsText: string;
  /** The text encoded once, written as is by every scrape. */
  readonly #metricsBytes: Buffer;
  readonly validUntil: number;
  #metricsPart: Promise<DeflatedPart> | null = null;
  readonly #objectives = new Map<boolean, { head: string; rest: string; restPart: DeflatedPart | null }>();
  readonly #sources = new Map<boolean, { text: string; gzip: Buffer | null }>();

  constructor(
    readonly loaded: Loaded,
    readonly config: Config,
    now: number,
    readonly redact: (text: string) => string,
  ) {
    const r = renderMetrics(config, loaded.snap, now);
    this.metricsText = r.text;
    this.#metricsBytes = Buffer.from(r.text);
    this.validUntil = r.validUntil;
  }

  /** The exposition followed by `own` (the scrape's own metrics); gzip from the part compressed once. */
  async metrics(own: string, gzip: boolean): Promise<{ plain: Buffer[] } | { gzip: Buffer }> {
    if (!gzip) return { plain: [this.#metricsBytes, Buffer.from(own)] };
    const big = await this.compressedMetrics();
    return { gzip: gzipOf([big, deflatePartSync(own, true)]) };
  }

  /** Compresses the exposition (once, off the event loop). */
  compressedMetrics(): Promise<DeflatedPart> {
    this.#metricsPart ??= deflatePart(this.#metricsBytes, false);
    return this.#metricsPart;
  }

  /** `GET /api/v1/objectives` at `now`: the document's instant is the request's, the rest is rendered once. */
  objectives(now: number, redacted: boolean): Body {
    let doc = this.#objectives.get(redacted);
    if (!doc) {
      const placeholder = new Date(0).toISOString();
      const d = objectivesDocument(this.config, [...this.loaded.snap.results.values()], now, 0);
      // Errors name the URLs of internal sources: only for a client that has authenticated.
      if (redacted) d.objectives = d.objectives.map((o) => ({ ...o, keyResults: o.keyResults.map((kr) => (kr.error ? { ...kr, error: this.redact(kr.error) } : kr)) }));
      const text = `${JSON.stringify(d, null, 2)}\n`;
      const head = '{\n  "at": ';
      const at = JSON.stringify(placeholder);
      if (!text.startsWith(head + at)) throw new Error('objectives document: "at" is not its first field');
      doc = { head, rest: text.slice(head.length + at.length), restPart: null };
      this.#objectives.set(redacted, doc);
    }
    const entry = doc;
    const first = `${entry.head}${JSON.stringify(new Date(now).toISOString())}`;
    return {
      text: first + entry.rest,
      gzip: () => {
        entry.restPart ??= deflatePartSync(entry.rest, true);
        return gzipOf([deflatePartSync(first, false), entry.restPart]);
      },
    };
  }

  /** `GET /api/v1/sources`. */
  sources(redacted: boolean): Body {
    let doc = this.#sources.get(redacted);
    if (!doc) {
      let view = sourcesView(planStreams(this.config), this.loaded.snap.health);
      if (redacted) view = view.map((s) => (s.lastError ? { ...s, lastError: this.redact(s.lastError) } : s));
      doc = { text: `${JSON.stringify(view, null, 2)}\n`, gzip: null };
      this.#sources.set(redacted, doc);
    }
    const entry = doc;
    return { text: entry.text, gzip: () => (entry.gzip ??= gzipOf([deflatePartSync(entry.text, true)])) };
  }
}

export class ServedView {
  readonly #opts: ServedViewOptions;
  #loaded: Loaded | null = null;
  #loading: Promise<Loaded> | null = null;
  #rendering: Rendering | null = null;
  /** When the values in memory were last known to be Redis's. */
  #confirmedAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #polling = false;
  /** Whether scrapers ask for gzip: then the background refresh compresses ahead too. */
  #gzipWanted = false;

  constructor(opts: ServedViewOptions) {
    this.#opts = opts;
    const every = opts.pollMs ?? 1_000;
    if (opts.version && every > 0) {
      this.#timer = setInterval(() => void this.#poll(), every);
      this.#timer.unref();
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Checks the counter now (e.g. when this process has just written) instead of at the next tick. */
  poke(): void {
    void this.#poll();
  }

  /** For a request: the values current as of its arrival (or the last ones, when Redis does not answer). */
  async current(opts: { gzip?: boolean } = {}): Promise<Served> {
    if (opts.gzip) this.#gzipWanted = true;
    const { now } = this.#opts;
    let up = true;
    try {
      if (!this.#opts.version) {
        await this.#load(0);
      } else {
        const v = await this.#opts.version();
        if (this.#needsLoad(v)) await this.#load(v);
        else this.#confirmedAt = now();
      }
    } catch (err) {
      up = false;
      this.#opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'the store did not answer; serving the last values read');
    }
    const view = this.#render();
    return { up, ageSeconds: up || !view ? 0 : Math.max(0, (now() - this.#confirmedAt) / 1000), view };
  }

  #needsLoad(v: number): boolean {
    const l = this.#loaded;
    return !l || v !== l.version || this.#opts.now() - l.readAt > (this.#opts.maxAgeMs ?? 60_000);
  }

  /** Reads the store; one read at a time, and one that began before `version` was reached is followed by another. */
  async #load(version: number): Promise<Loaded> {
    for (;;) {
      // Without a counter, each request reads for itself.
      const inFlight = this.#opts.version ? this.#loading : null;
      if (inFlight) {
        const l = await inFlight.catch(() => null);
        if (l && l.version >= version) return l;
        if (this.#loading === inFlight) this.#loading = null;
        continue;
      }
      const p = (async () => {
        const { store, now } = this.#opts;
        // The counter first: changes after it are read too, or found by the next check.
        const v = this.#opts.version ? await this.#opts.version() : 0;
        const loaded = { snap: await readSnapshot(store, this.#opts.config(), this.#opts.checkins), version: v, readAt: now() };
        this.#loaded = loaded;
        this.#confirmedAt = loaded.readAt;
        return loaded;
      })();
      this.#loading = p;
      try {
        return await p;
      } finally {
        if (this.#loading === p) this.#loading = null;
      }
    }
  }

  /** The rendering of what is loaded under the config in force at this instant. */
  #render(): Rendering | null {
    const loaded = this.#loaded;
    if (!loaded) return null;
    const now = this.#opts.now();
    const config = this.#opts.config();
    const r = this.#rendering;
    if (r && r.loaded === loaded && r.config === config && now <= r.validUntil) return r;
    this.#rendering = new Rendering(loaded, config, now, this.#opts.redact);
    return this.#rendering;
  }

  async #poll(): Promise<void> {
    if (this.#polling || !this.#opts.version) return;
    this.#polling = true;
    try {
      const v = await this.#opts.version();
      if (this.#needsLoad(v)) await this.#load(v);
      else this.#confirmedAt = this.#opts.now();
      const r = this.#render();
      if (r && this.#gzipWanted) await r.compressedMetrics();
    } catch {
      // Redis away: requests say so (krt_redis_up 0); the next tick tries again.
    } finally {
      this.#polling = false;
    }
  }
}

/** The scrape's own series: whether the store answered it, and how old the values are when not. */
export function ownMetrics(s: Pick<Served, 'up' | 'ageSeconds'>, hasValues: boolean): string {
  return [
    '# HELP krt_redis_up 1 when Redis answered this scrape and the values are the ones it holds; 0 when it does not answer and they are the last ones read.',
    '# TYPE krt_redis_up gauge',
    `krt_redis_up ${s.up ? 1 : 0}`,
    ...(hasValues
      ? [
          '# HELP krt_metrics_data_age_seconds How long ago the values of this scrape were last known to be the ones Redis holds (0 while it answers).',
          '# TYPE krt_metrics_data_age_seconds gauge',
          `krt_metrics_data_age_seconds ${s.ageSeconds}`,
        ]
      : []),
    '',
  ].join('\n');
}
