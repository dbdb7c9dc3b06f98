import type { Config } from '../config/types.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/store.js';
import type { Connectors } from '../sync/connectors.js';
import { planStreams } from '../sync/plan.js';
import { runSync } from '../sync/run-sync.js';
import { evaluateOrReport } from './evaluate.js';
import type { EvaluationResult } from './result.js';

export interface RunOnceOptions {
  config: Config;
  store: Store;
  connectors: Connectors;
  logger: Logger;
  /** The instant evaluated (default: now). */
  at?: number;
  now: () => number;
}

/**
 * Syncs every stream the config needs, then evaluates every key result at `at`. A stream that
 * fails is recorded and its key results come out as `no_data` with the reason; the others go on.
 */
export async function runOnce(opts: RunOnceOptions): Promise<EvaluationResult[]> {
  const { config, store, logger, now } = opts;
  for (const stream of planStreams(config)) {
    await runSync(stream, { connectors: opts.connectors, store, logger, now }).catch(() => undefined);
  }
  const at = opts.at ?? now();
  const results: EvaluationResult[] = [];
  for (const o of config.objectives) {
    for (const kr of o.keyResults) {
      const r = await evaluateOrReport(o, kr, { store, at, now, live: opts.connectors.live });
      await store.putResult(r);
      results.push(r);
    }
  }
  return results;
}
