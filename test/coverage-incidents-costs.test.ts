// What coverage and PagerDuty incidents cost against the simulators on a generated organization
// (several repositories, a year), and the limits that protect the process from hostile artifacts:
// a zip bomb, an artifact that is not a zip, a download larger than the cap.
// docs/coverage-and-incidents.md gives the figures this test prints.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { runsStreamOf } from '../connectors/github/actions.js';
import { coverageFromZip, coverageStreamOf, UnreadableReportError } from '../connectors/github/coverage.js';
import { coverageInstants } from '../src/sync/coverage-instants.js';
import { createGithubConnector, type GithubConnectorOptions } from '../connectors/github/index.js';
import { applyNewArtifact, applyNewWorkflowRun, generateGithubDataset, zipFiles } from '../connectors/github/sim/dataset.js';
import { startGithubSimulator, type GithubSimulator } from '../connectors/github/sim/server.js';
import { createPagerDutyConnector, incidentsStream } from '../connectors/pagerduty/index.js';
import { generatePagerDutyDataset } from '../connectors/pagerduty/sim/dataset.js';
import { startPagerDutySimulator } from '../connectors/pagerduty/sim/server.js';
import { Secret } from '../src/core/secret.js';
import { SourceError } from '../src/core/errors.js';
import { testCoverage } from '../src/metrics/test-coverage.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { config, keyResult, objective } from './helpers/config.js';

const MIN = 60_000;
const DAY = 86_400_000;
const MB = 1024 * 1024;
const TO = Date.parse('2026-11-20T00:00:00Z');
const REPOS = ['acme/a', 'acme/b', 'acme/c', 'acme/d', 'acme/e', 'acme/f'];
const TOKEN = 'cost-token';
const logger = pino({ level: 'silent' });
const LIST_ROUTE = 'GET /repos/{owner}/{repo}/actions/artifacts';
const RUN_LIST_ROUTE = 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts';
const DOWNLOAD_ROUTE = 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}';
const PERIOD_START = Date.parse('2026-10-01T00:00:00Z');

/** The instants the default policy asks for: now, a period start (measured baseline), 35 day ends. */
const instants = (_key: string, now: number) => ({
  instants: [now, PERIOD_START],
  daily: Array.from({ length: 35 }, (_, i) => Math.floor(now / DAY) * DAY - i * DAY),
});

describe('coverage instants from the config', () => {
  it('now (or --at), the period start of key results that measure their baseline, and the day ends of a backfill in the time zone', () => {
    const cov = (over: Parameters<typeof keyResult>[0]) => keyResult({ metric: 'test_coverage', unit: 'ratio', repos: ['acme/payments'], workflow: 'ci.yml', branch: 'main', artifact: 'coverage', ...over });
    const cfg = config({
      timezone: 'Europe/Berlin',
      objectives: [
        objective({ id: 'q4', period: { start: Date.parse('2026-09-30T22:00:00Z'), end: Date.parse('2026-12-31T23:00:00Z') }, keyResults: [cov({ id: 'measured' }), cov({ id: 'other-artifact', artifact: 'lcov' })] }),
        objective({ id: 'fixed', period: { start: Date.parse('2026-08-31T22:00:00Z'), end: Date.parse('2026-12-31T23:00:00Z') }, keyResults: [cov({ id: 'given', baseline: 0.6 })] }),
      ],
    });
    const now = Date.parse('2026-11-20T10:00:00Z');
    const got = coverageInstants(cfg, 'acme/payments/ci.yml@main#coverage', now, undefined, { from: '2026-11-17', to: '2026-11-19' });
    expect(got.instants.sort()).toEqual([Date.parse('2026-09-30T22:00:00Z'), now]);
    // 00:00 in Berlin (UTC+1 in November) of Nov 20, 19, 18.
    expect(got.daily).toEqual([Date.parse('2026-11-19T23:00:00Z'), Date.parse('2026-11-18T23:00:00Z'), Date.parse('2026-11-17T23:00:00Z')]);
    // A regular sync asks for no day ends.
    expect(coverageInstants(cfg, 'acme/payments/ci.yml@main#coverage', now).daily).toEqual([]);
    const at = Date.parse('2026-11-10T12:00:00Z');
    expect(coverageInstants(cfg, 'acme/payments/ci.yml@main#coverage', now, at).instants).toContain(at);
  });
});

describe('coverage on a year of six repositories', () => {
  let sim: GithubSimulator;
  beforeAll(async () => {
    sim = await startGithubSimulator({ dataset: generateGithubDataset({ seed: 3, repos: REPOS, from: new Date(TO - 365 * DAY), to: new Date(TO) }), token: TOKEN });
  });
  afterAll(async () => {
    await sim.close();
  });
  const store = new MemoryStore();
  const connector = (now: number, extra: Partial<GithubConnectorOptions> = {}) =>
    createGithubConnector({ source: { baseUrl: sim.url, token: new Secret('GITHUB_TOKEN', TOKEN) }, store, logger, now: () => now, retryBaseMs: 5, coverage: { instants }, ...extra });
  const syncAll = async (now: number) => {
    const c = connector(now);
    for (const r of REPOS) await c.sync(runsStreamOf(r, 'ci.yml', 'main'));
    const from = sim.requests.length;
    for (const r of REPOS) await c.sync(coverageStreamOf(r, 'ci.yml', 'main', 'coverage'));
    const made = sim.requests.slice(from);
    return {
      listings: made.filter((x) => x.route === LIST_ROUTE && x.status === 200).length,
      notModified: made.filter((x) => x.status === 304).length,
      downloads: made.filter((x) => x.route === DOWNLOAD_ROUTE).length,
      perRunListings: made.filter((x) => x.route === RUN_LIST_ROUTE).length,
    };
  };

  it('lists each repository\'s artifacts a few pages deep and downloads a handful, then costs one free 304', async () => {
    const first = await syncAll(TO);
    // What one listing per run cost before: every successful run of the runs history (180 days).
    let successfulRuns = 0;
    let readable = 0;
    for (const repo of REPOS) {
      const runs = (await store.getEvents('workflow_run', `${repo}/ci.yml@main`)).filter((r) => r.status === 'completed' && r.conclusion === 'success');
      successfulRuns += runs.length;
      const simRepo = sim.dataset.repos.find((r) => r.fullName === repo)!;
      const ids = new Set(runs.map((r) => r.id));
      readable += simRepo.runs.filter((r) => ids.has(r.id) && r.artifacts.some((a) => a.name === 'coverage' && !a.expired)).length;
    }
    console.log(
      `coverage, ${REPOS.length} repos, first sync: ${first.listings} listing pages + ${first.downloads} downloads ` +
        `(one listing per run: ${successfulRuns} listings + ${readable} downloads)`,
    );
    expect(first.perRunListings).toBe(0);
    expect(first.listings).toBeLessThanOrEqual(REPOS.length * 6);
    // now, the period start, and at most 4 day ends a sync (plus an odd unreadable one).
    expect(first.downloads).toBeLessThanOrEqual(REPOS.length * (2 + 4));
    expect(first.listings + first.downloads).toBeLessThan((successfulRuns + readable) / 10);

    // The values that matter are the ones every report would give.
    for (const repo of REPOS) {
      const got = await store.getEvents('coverage', `${repo}/ci.yml@main`);
      const simRepo = sim.dataset.repos.find((r) => r.fullName === repo)!;
      for (const at of [TO, PERIOD_START, TO - DAY, TO - 3 * DAY]) {
        const want = simRepo.runs
          .filter((r) => r.workflow === 'ci.yml' && r.head_branch === 'main' && r.conclusion === 'success' && Date.parse(r.created_at) <= at && r.artifacts.some((a) => a.name === 'coverage' && !a.expired))
          .sort((x, y) => Date.parse(y.created_at) - Date.parse(x.created_at) || y.id - x.id)[0]!;
        expect(got.some((c) => c.id === want.id), `${repo} at ${new Date(at).toISOString()}`).toBe(true);
        expect(testCoverage(got, at)).toBe(got.find((c) => c.id === want.id)!.lineRate);
      }
    }

    // Unchanged: one 304 per repository, nothing downloaded... except the remaining day ends.
    const again = await syncAll(TO + 5 * MIN);
    console.log(`coverage, re-sync: ${again.listings} listing pages, ${again.notModified} 304s, ${again.downloads} downloads`);
    expect(again.listings).toBe(0);
    expect(again.notModified).toBeGreaterThanOrEqual(REPOS.length);
    expect(again.downloads).toBeLessThanOrEqual(REPOS.length * 4);
    // The day ends fill in within a few syncs, then a sync downloads nothing.
    let syncs = 2;
    let last = again;
    while (last.downloads > 0 && syncs < 12) {
      last = await syncAll(TO + syncs * 5 * MIN);
      syncs++;
    }
    console.log(`coverage, daily points complete after ${syncs} syncs`);
    expect(last.downloads).toBe(0);
    expect(last.listings).toBe(0);

    // A new run: page 1 again (200), one download.
    const run = applyNewWorkflowRun(sim.dataset, 'acme/a', { created_at: TO + 70 * MIN, coverage: { format: 'lcov', files: [{ path: 'src/x.ts', lines: 100, covered: 91 }] } });
    const after = await syncAll(TO + 90 * MIN);
    expect(after.listings).toBe(1);
    expect(after.downloads).toBe(1);
    expect(testCoverage(await store.getEvents('coverage', 'acme/a/ci.yml@main'), TO + 90 * MIN)).toBe(0.91);
    expect(run.id).toBeGreaterThan(0);
  }, 300_000);

  it('an artifact that is not a zip is a clear error of its stream naming the artifact and the fix; other streams sync', async () => {
    const at = TO + 2 * DAY;
    const run = applyNewWorkflowRun(sim.dataset, 'acme/b', { created_at: at });
    const html = applyNewArtifact(sim.dataset, 'acme/b', run.id, { name: 'coverage', raw: Buffer.from('<!doctype html><html><body>coverage report</body></html>') });
    const good = applyNewWorkflowRun(sim.dataset, 'acme/c', { created_at: at, coverage: { format: 'lcov', files: [{ path: 'src/y.ts', lines: 10, covered: 7 }] } });
    const c = connector(at + 30 * MIN);
    await c.sync(runsStreamOf('acme/b', 'ci.yml', 'main'));
    await c.sync(runsStreamOf('acme/c', 'ci.yml', 'main'));
    const err = await c.sync(coverageStreamOf('acme/b', 'ci.yml', 'main', 'coverage')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    const message = (err as SourceError).message;
    expect(message).toContain(`acme/b run ${run.id} (ci.yml@main`);
    expect(message).toContain(`artifact "coverage" (id ${html.id}): not a readable zip archive: it starts with "<!doctype html><"`);
    expect(message).toContain('upload the coverage report files');
    expect((err as SourceError).retryable).toBe(false);
    // The older report still gives acme/b a value; acme/c syncs.
    expect(testCoverage(await store.getEvents('coverage', 'acme/b/ci.yml@main'), at + 30 * MIN)).not.toBeNull();
    await c.sync(coverageStreamOf('acme/c', 'ci.yml', 'main', 'coverage'));
    expect((await store.getEvents('coverage', 'acme/c/ci.yml@main')).find((e) => e.id === good.id)?.lineRate).toBe(0.7);
  }, 60_000);

  it('an artifact the listing says is over maxArtifactBytes is not downloaded', async () => {
    const at = TO + 3 * DAY;
    const run = applyNewWorkflowRun(sim.dataset, 'acme/d', { created_at: at });
    applyNewArtifact(sim.dataset, 'acme/d', run.id, { name: 'coverage', raw: Buffer.alloc(300_000, 1) });
    const c = connector(at + 30 * MIN, { coverage: { instants, maxArtifactBytes: 200_000 } });
    await c.sync(runsStreamOf('acme/d', 'ci.yml', 'main'));
    const from = sim.requests.length;
    const err = await c.sync(coverageStreamOf('acme/d', 'ci.yml', 'main', 'coverage')).catch((e: unknown) => e);
    expect((err as SourceError).message).toMatch(/artifact "coverage" \(id \d+\): the archive is 300000 bytes, over the 200000-byte limit \(maxArtifactBytes\)/);
    const downloads = sim.requests.slice(from).filter((x) => x.route === DOWNLOAD_ROUTE);
    // Older reports of the day ends are still read; the big one never is.
    expect(downloads.every((x) => !x.path.includes(`/artifacts/${run.artifacts[0]!.id}/`))).toBe(true);
  }, 60_000);
});

describe('PagerDuty incidents on a year of four services', () => {
  it('reads acknowledge and resolve times from a few pages of account log entries, not one request per incident', async () => {
    const services = ['PSVC1AA', 'PSVC1BB', 'PSVC1CC', 'PSVC1DD'];
    const dataset = generatePagerDutyDataset({ seed: 5, services, from: new Date(TO - 365 * DAY), to: new Date(TO) });
    let clock = TO;
    const sim = await startPagerDutySimulator({ dataset, token: TOKEN, now: () => clock });
    try {
      const store = new MemoryStore();
      const c = createPagerDutyConnector({ source: { baseUrl: sim.url, token: new Secret('PAGERDUTY_TOKEN', TOKEN) }, store, logger, now: () => clock, retryBaseMs: 5 });
      for (const s of services) await c.sync(incidentsStream(s));
      const routes = (from = 0) => {
        const by: Record<string, number> = {};
        for (const r of sim.requests.slice(from)) by[r.route] = (by[r.route] ?? 0) + 1;
        return by;
      };
      const first = routes();
      const stored = (await Promise.all(services.map((s) => store.getEvents('incident', s)))).flat();
      // Before: one log-entry request (or more) per incident seen acknowledged or resolved.
      const perIncident = stored.filter((e) => e.status !== 'triggered').length;
      console.log(`pagerduty, ${services.length} services, first sync: ${JSON.stringify(first)} (one log request per incident: ${perIncident})`);
      expect(first['GET /incidents/{id}/log_entries'] ?? 0).toBe(0);
      expect(first['GET /log_entries']).toBeLessThan(perIncident / 10);
      expect(stored.filter((e) => e.acknowledgedAt !== null).length).toBeGreaterThan(perIncident / 2);

      clock = TO + 10 * MIN;
      const mark = sim.requests.length;
      for (const s of services) await c.sync(incidentsStream(s));
      const second = routes(mark);
      console.log(`pagerduty, re-sync: ${JSON.stringify(second)}`);
      // The services share the account's entries: read once, since the last sync minus the margin.
      expect(second['GET /log_entries']).toBe(1);
      expect(sim.requests.slice(mark).filter((r) => r.route === 'GET /log_entries').every((r) => new URL(r.path, 'http://x').searchParams.get('since') === new Date(TO - 60 * MIN).toISOString())).toBe(true);
    } finally {
      await sim.close();
    }
  }, 120_000);
});

// ----- hostile archives -----

/** A zip of one deflated entry whose data is `size` zero bytes, built in pieces; `claim` is the size the directory states. */
async function zeroBomb(name: string, size: number, claim = size): Promise<Buffer> {
  const deflate = zlib.createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((r) => deflate.on('end', () => r()));
  const piece = Buffer.alloc(MB);
  let crc = 0;
  for (let left = size; left > 0; left -= MB) {
    const p = left >= MB ? piece : piece.subarray(0, left);
    crc = zlib.crc32(p, crc);
    if (!deflate.write(p)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  const data = Buffer.concat(out);
  const fname = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc >>> 0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(claim, 22);
  local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(claim, 24);
  central.writeUInt16LE(fname.length, 28);
  central.writeUInt32LE(0, 42);
  const cdOffset = local.length + fname.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length + fname.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, fname, data, central, fname, eocd]);
}

/** Runs `f` while sampling RSS and the event loop's lag every 5 ms. */
async function watched<T>(f: () => Promise<T>): Promise<{ result: T | Error; rssGrowth: number; maxLagMs: number }> {
  globalThis.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  let maxLag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    maxLag = Math.max(maxLag, t - last - 5);
    last = t;
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  let result: T | Error;
  try {
    result = await f();
  } catch (err) {
    result = err as Error;
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return { result, rssGrowth: peak - base, maxLagMs: maxLag };
}

describe('zip bombs', () => {
  it('a report inflating past maxReportBytes is aborted while it inflates, in little memory, the event loop free', async () => {
    // 600 MB of zeros in a ~600 KB archive whose directory claims 1 KB (a lying zip bomb).
    const zip = await zeroBomb('coverage/lcov.info', 600 * MB, 1024);
    expect(zip.length).toBeLessThan(2 * MB);
    const w = await watched(() => coverageFromZip(zip));
    console.log(`zip bomb (lcov.info, 600 MB of zeros, default 200 MB cap): RSS growth ${(w.rssGrowth / MB).toFixed(0)} MB, event-loop lag max ${w.maxLagMs.toFixed(1)} ms`);
    expect(w.result).toBeInstanceOf(UnreadableReportError);
    expect((w.result as Error).message).toBe('coverage/lcov.info in the zip archive: inflates to more than the 209715200-byte limit (maxReportBytes); aborted (a zip bomb, or raise maxReportBytes)');
    expect(w.rssGrowth).toBeLessThan(128 * MB);
  }, 120_000);

  it('a JSON summary bomb is held to the cap: RSS stays far under 512 MB', async () => {
    const zip = await zeroBomb('coverage-summary.json', 600 * MB, 2048);
    const w = await watched(() => coverageFromZip(zip, 100 * MB));
    console.log(`zip bomb (coverage-summary.json, 600 MB, 100 MB cap): RSS growth ${(w.rssGrowth / MB).toFixed(0)} MB, event-loop lag max ${w.maxLagMs.toFixed(1)} ms`);
    expect((w.result as Error).message).toMatch(/inflates to more than the 104857600-byte limit \(maxReportBytes\); aborted/);
    expect(w.rssGrowth).toBeLessThan(384 * MB);
  }, 120_000);

  it('a directory that states the real size is refused before inflating', async () => {
    const zip = await zeroBomb('lcov.info', 300 * MB);
    await expect(coverageFromZip(zip)).rejects.toThrow('lcov.info in the zip archive: 314572800 bytes uncompressed, over the 209715200-byte limit (maxReportBytes)');
  }, 60_000);

  it('still reads real reports of every format, stored or deflated', async () => {
    const lcov = 'TN:\nSF:a.ts\nLF:10\nLH:4\nend_of_record\nSF:b.ts\r\nLF:30\r\nLH:26\r\nend_of_record\n';
    expect(await coverageFromZip(zipFiles([{ name: 'out/lcov.info', data: Buffer.from(lcov) }]))).toEqual({ lineRate: 0.75, format: 'lcov', file: 'out/lcov.info' });
    const xml = `<?xml version="1.0" ?>\n<coverage line-rate="0.8123" branch-rate="0">${'<x/>'.repeat(200_000)}</coverage>`;
    expect(await coverageFromZip(zipFiles([{ name: 'coverage.xml', data: Buffer.from(xml) }]))).toMatchObject({ lineRate: 0.8123, format: 'cobertura' });
    const json = JSON.stringify({ total: { lines: { total: 10, covered: 9, skipped: 0, pct: 90 } } });
    expect(await coverageFromZip(zipFiles([{ name: 'coverage-summary.json', data: Buffer.from(json) }]))).toMatchObject({ lineRate: 0.9, format: 'istanbul-summary' });
  });
});
