// Pools GraphQL `nodes(ids:)` reads of the streams that sync at the same time with one credential
// (a DataLoader-like collector): one `nodes(ids:)` call takes up to 100 ids of any repository and
// costs 1 point, so the statuses of the new deployments of 20 deployments streams cost 1 point
// instead of 20. Streams `join` while they run; ids asked are held until every joined stream is
// waiting on the batcher, 100 ids are pending, or `maxWaitMs` has passed since the first pending
// ask, whichever comes first: no stream waits on another for longer than that.
// Each caller gets its own nodes back, and the errors GitHub reports on its nodes (path
// `["nodes", i, ...]`); an error of the whole query goes to every caller of that query.

/** What the batch query gives for one id. */
export interface NodeResult<T> {
  node: T | null;
  /** Errors GitHub reported on this node (e.g. NOT_FOUND, FORBIDDEN); empty when none. */
  errors: { type?: string; message: string }[];
}

/** One `nodes(ids:)` query for at most `maxIds` ids: a result per id, in order, and its cost. */
export type NodesQuery<T> = (ids: readonly string[]) => Promise<{ results: NodeResult<T>[]; points: number }>;

export interface NodeBatcherOptions<T> {
  query: NodesQuery<T>;
  /** Ids per query (GitHub's `nodes(ids:)` takes at most 100). */
  maxIds?: number;
  /** Longest a pending ask waits for other streams before its query goes out (default 50 ms). */
  maxWaitMs?: number;
}

/** What a stream's share of the pooled queries was. */
export interface NodeLoad<T> {
  results: NodeResult<T>[];
  /**
   * Queries charged to this stream, and their points: each query (request and cost) is counted
   * once, for its first caller, so that the streams' reports add up to what was sent.
   */
  queries: number;
  points: number;
}

export interface NodeBatcher<T> {
  /** A stream that may ask for nodes starts; call `leave` when it ends (in a finally). */
  join(): { load(ids: readonly string[]): Promise<NodeLoad<T>>; leave(): void };
  /** Queries sent so far (for tests and reports). */
  readonly queriesSent: number;
}

interface Ask<T> {
  who: object;
  results: (NodeResult<T> | undefined)[];
  /** Slices of this ask not answered yet (pending or in flight). */
  outstanding: number;
  queries: number;
  points: number;
  failed: unknown;
  resolve: (v: NodeLoad<T>) => void;
  reject: (e: unknown) => void;
}

/** Ids `from`..`to` of one ask, by one stream. */
interface Slice<T> {
  who: object;
  ask: Ask<T>;
  ids: readonly string[];
  from: number;
}

export function createNodeBatcher<T>(opts: NodeBatcherOptions<T>): NodeBatcher<T> {
  const maxIds = opts.maxIds ?? 100;
  const maxWaitMs = opts.maxWaitMs ?? 50;
  const joined = new Set<object>();
  /** Asks not answered yet, by stream: a stream with one is blocked on the batcher. */
  const unanswered = new Map<object, number>();
  let pending: Slice<T>[] = [];
  let pendingIds = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let immediate: ReturnType<typeof setImmediate> | null = null;
  let queriesSent = 0;

  const settle = (ask: Ask<T>) => {
    if (ask.outstanding > 0) return;
    const left = (unanswered.get(ask.who) ?? 1) - 1;
    if (left > 0) unanswered.set(ask.who, left);
    else unanswered.delete(ask.who);
    if (ask.failed !== undefined) ask.reject(ask.failed);
    else ask.resolve({ results: ask.results as NodeResult<T>[], queries: ask.queries, points: ask.points });
  };

  const send = (q: Slice<T>[]) => {
    queriesSent++;
    const asks = [...new Set(q.map((s) => s.ask))];
    q[0]!.ask.queries++;
    const ids = q.flatMap((s) => s.ids);
    opts
      .query(ids)
      .then(
        ({ results, points }) => {
          // The query's cost goes to its first caller (points stay whole numbers).
          q[0]!.ask.points += points;
          let at = 0;
          for (const s of q) for (let i = 0; i < s.ids.length; i++) s.ask.results[s.from + i] = results[at++] ?? { node: null, errors: [] };
        },
        (err: unknown) => {
          for (const ask of asks) if (ask.failed === undefined) ask.failed = err;
        },
      )
      .finally(() => {
        for (const s of q) s.ask.outstanding--;
        for (const ask of asks) settle(ask);
      });
  };

  /** Sends the pending ids, 100 to a query: only full queries unless `all` (the tail stays pending). */
  const flush = (all: boolean) => {
    if (timer) clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
    timer = null;
    immediate = null;
    let current: Slice<T>[] = [];
    let size = 0;
    const queue = pending;
    pending = [];
    pendingIds = 0;
    for (let k = 0; k < queue.length; k++) {
      let s = queue[k]!;
      for (;;) {
        const take = Math.min(maxIds - size, s.ids.length);
        const head: Slice<T> = { ...s, ids: s.ids.slice(0, take) };
        current.push(head);
        size += take;
        if (take < s.ids.length) {
          // The rest of this slice is a new slice, answered separately.
          s.ask.outstanding++;
          s = { ...s, ids: s.ids.slice(take), from: s.from + take };
        } else s = { ...s, ids: [] };
        if (size === maxIds) {
          send(current);
          current = [];
          size = 0;
        }
        if (s.ids.length === 0) break;
      }
    }
    if (current.length > 0) {
      if (all) send(current);
      else {
        pending = current;
        pendingIds = size;
      }
    }
    if (pending.length > 0) schedule();
  };

  const schedule = () => {
    if (pending.length === 0) return;
    if (pendingIds >= maxIds) {
      flush(false);
      return;
    }
    if ([...joined].every((p) => unanswered.has(p))) {
      // Everyone running is waiting on the batcher (pending or in flight): go on the next turn of the event loop (asks made in this
      // turn join the same query).
      immediate ??= setImmediate(() => flush(true));
      return;
    }
    timer ??= setTimeout(() => flush(true), maxWaitMs);
  };

  return {
    get queriesSent() {
      return queriesSent;
    },
    join() {
      const who = {};
      joined.add(who);
      return {
        load(ids: readonly string[]): Promise<NodeLoad<T>> {
          if (ids.length === 0) return Promise.resolve({ results: [], queries: 0, points: 0 });
          return new Promise<NodeLoad<T>>((resolve, reject) => {
            unanswered.set(who, (unanswered.get(who) ?? 0) + 1);
            const ask: Ask<T> = { who, results: new Array<NodeResult<T> | undefined>(ids.length), outstanding: 1, queries: 0, points: 0, failed: undefined, resolve, reject };
            pending.push({ who, ask, ids: [...ids], from: 0 });
            pendingIds += ids.length;
            schedule();
          });
        },
        leave() {
          if (!joined.delete(who)) return;
          // The others may have been waiting for this stream only.
          schedule();
        },
      };
    },
  };
}
