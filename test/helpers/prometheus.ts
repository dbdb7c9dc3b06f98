import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './net.js';

export interface RunningPrometheus {
  url: string;
  /** Instant query; the result vector. */
  query(q: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/** A real Prometheus (Debian package) on a free loopback port with its own data dir, scraping `targets` every second. */
export async function startPrometheus(targets: string[], opts: { rules?: string; alertmanager?: string } = {}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'krt-prom-'));
  const port = await freePort();
  const lines = ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:', '  - job_name: kr-tracker', '    static_configs:', `      - targets: [${targets.map((t) => `"${t}"`).join(', ')}]`];
  if (opts.rules) {
    await writeFile(join(dir, 'rules.yml'), opts.rules);
    lines.push('rule_files:', `  - ${join(dir, 'rules.yml')}`);
  }
  if (opts.alertmanager) lines.push('alerting:', '  alertmanagers:', '    - static_configs:', `        - targets: ["${opts.alertmanager}"]`);
  await writeFile(join(dir, 'prometheus.yml'), lines.join('\n') + '\n');
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await until(`Prometheus ready at ${url} (${stderr.slice(-500)})`, async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined), 30_000);
  return {
    url,
    async query(q) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`query ${q}: ${body.error}`);
      return body.data.result;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
