// A real Prometheus (Debian's `prometheus` and `promtool`) holding generated latency history:
// the demo's and the tests' Prometheus source. History is written as OpenMetrics and backfilled
// with `promtool tsdb create-blocks-from openmetrics`, then Prometheus serves the data dir.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLatencyHistory, type LatencyHistory, type LatencyHistorySpec } from './latency-history.js';
import { freePort } from '../../../src/lib/net.js';

const run = promisify(execFile);

export interface PrometheusWithHistory {
  url: string;
  history: LatencyHistory;
  /** Wall-clock milliseconds spent writing the OpenMetrics text, creating blocks, starting Prometheus. */
  timings: { generateMs: number; blocksMs: number; startMs: number };
  stop(): Promise<void>;
}


/**
 * Keep `stepSeconds` at most 150: `rate(...[5m])` needs two samples inside every 5-minute window.
 * promtool writes 2-hour blocks by default and re-reads the input for each; the (hidden, accepted
 * by 2.42) `--max-block-duration` makes it write one block in seconds.
 */
export async function startPrometheusWithHistory(spec: LatencyHistorySpec): Promise<PrometheusWithHistory> {
  const dir = await mkdtemp(join(tmpdir(), 'krt-prom-history-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    let t = Date.now();
    const history = createLatencyHistory(spec);
    const file = join(dir, 'history.om');
    const out = createWriteStream(file);
    for (const chunk of history.openMetrics()) if (!out.write(chunk)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    const generateMs = Date.now() - t;

    t = Date.now();
    await run('promtool', ['tsdb', 'create-blocks-from', '--max-block-duration=10000h', 'openmetrics', '--quiet', file, data], { maxBuffer: 16 << 20 });
    await rm(file);
    const blocksMs = Date.now() - t;

    t = Date.now();
    const port = await freePort();
    await writeFile(join(dir, 'prometheus.yml'), 'scrape_configs: []\n');
    child = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${data}`, '--storage.tsdb.retention.time=10y', `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`Prometheus exited: ${stderr.slice(-1000)}`);
      if (await fetch(`${url}/-/ready`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`Prometheus not ready at ${url} after 60 s: ${stderr.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const startMs = Date.now() - t;
    const running = child;
    return {
      url,
      history,
      timings: { generateMs, blocksMs, startMs },
      async stop() {
        if (running.exitCode === null) {
          running.kill('SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
