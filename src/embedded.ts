// The embedded mode: the whole service in one process without Redis (memory store, timers
// instead of BullMQ). For the demo on a machine with no Redis; `krt serve` is the real thing.
import type { Config } from './config/types.js';
import { runOnce } from './engine/run-once.js';
import { startHttpServer } from './exporters/http.js';
import type { Logger } from './lib/logger.js';
import { MemoryStore } from './store/memory-store.js';
import { createConnectors } from './sync/connectors.js';
import type { RunningService } from './service.js';

export interface EmbeddedOptions {
  config: Config;
  logger: Logger;
  host?: string;
  port?: number;
  now?: () => number;
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<RunningService> {
  const { config, logger } = opts;
  const now = opts.now ?? Date.now;
  const store = new MemoryStore();
  const connectors = createConnectors({ config, store, logger, now });
  const tick = () => runOnce({ config, store, connectors, logger, now }).catch((err: unknown) => logger.error({ err: String(err) }, 'evaluation failed'));
  await tick();
  const timer = setInterval(() => void tick(), Math.min(config.schedule.syncMs, config.schedule.evaluateMs));
  const http = await startHttpServer({ store, config: () => config, now, logger, host: opts.host, port: opts.port, ready: async () => true });
  return {
    url: http.url,
    config: () => config,
    reload: async () => false,
    async stop() {
      clearInterval(timer);
      await http.close();
    },
  };
}
