// No Docker engine runs on our machines, so the compose file is checked by reading it: every file
// it mounts exists, the services point at each other on the right ports, and every command it
// runs is a real `krt` command.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Service {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  depends_on?: string[];
  deploy?: { replicas?: number };
  container_name?: string;
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const allMounts = (s: Service) => (s.volumes ?? []).map((v) => { const [host, target] = v.split(':'); return { host: host!, target: target! }; });
/** Named volumes (`redis-data:/data`) as opposed to files of the repository (`./config/...`). */
const isNamed = (host: string) => !host.startsWith('.') && !host.startsWith('/');
const mounts = (s: Service) => allMounts(s).filter((m) => !isNamed(m.host));
const volumes = (s: Service) => allMounts(s).filter((m) => isNamed(m.host));
const readYaml = (p: string) => parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

describe('docker-compose.yml', () => {
  it('has the whole stack, and the simulated sources behind the demo profile', () => {
    expect(Object.keys(services).sort()).toEqual(['alertmanager', 'github-sim', 'grafana', 'krt', 'pagerduty-sim', 'prometheus', 'redis', 'worker']);
    expect(services['github-sim']?.profiles).toEqual(['demo']);
    expect(services['pagerduty-sim']?.profiles).toEqual(['demo']);
  });

  it('mounts only files and folders that exist in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const m of mounts(s)) {
        expect(existsSync(m.host), `${name} mounts ${m.host}, which does not exist`).toBe(true);
      }
    }
  });

  it('builds the service image from the Dockerfile, whose entry point is krt', () => {
    const docker = readFileSync('Dockerfile', 'utf8');
    expect(docker).toMatch(/ENTRYPOINT \["node", "bin\/krt\.js"\]/);
    for (const name of ['krt', 'worker', 'github-sim', 'pagerduty-sim']) expect(services[name]?.build).toBe('.');
  });

  it('runs only real krt commands', () => {
    for (const name of ['krt', 'worker', 'github-sim', 'pagerduty-sim']) {
      const cmd = services[name]!.command!;
      const r = spawnSync(process.execPath, ['bin/krt.js', cmd[0]!, '--help'], { encoding: 'utf8' });
      expect(r.status, `${name}: krt ${cmd[0]} --help: ${r.stderr}`).toBe(0);
      for (const opt of cmd.filter((c) => c.startsWith('--'))) expect(r.stdout, `${name}: krt ${cmd[0]} has no ${opt}`).toContain(opt);
    }
  });

  it('wires the service to Redis and gives it every variable the example config needs', () => {
    const example = readFileSync('config/okrs.example.yaml', 'utf8')
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n');
    const required = [...example.matchAll(/\$\{([A-Z_]+)(?::-[^}]*)?\}/g)].map((m) => m[1]!);
    // Those with a default too: PAGERDUTY_API_URL, PROMETHEUS_URL, SMTP_HOST, SMTP_PORT.
    expect(required).toEqual(expect.arrayContaining(['GITHUB_TOKEN', 'PAGERDUTY_API_URL', 'PROMETHEUS_URL', 'SMTP_HOST', 'SMTP_PORT']));
    for (const name of ['krt', 'worker']) {
      const s = services[name]!;
      expect(s.environment?.REDIS_URL).toBe('redis://redis:6379');
      for (const v of required) expect(Object.keys(s.environment ?? {}), `${name} lacks ${v}`).toContain(v);
      expect(mounts(s).some((m) => m.host === './config/okrs.example.yaml' && m.target === '/app/config/okrs.yaml')).toBe(true);
      expect(s.command).toContain('/app/config/okrs.yaml');
    }
  });

  it('lets the workers scale: no fixed name or host port, more than one replica', () => {
    const w = services.worker!;
    expect(w.command?.[0]).toBe('worker');
    expect(w.container_name).toBeUndefined();
    expect(w.ports).toBeUndefined();
    expect(w.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('has Prometheus scrape the service, load the rules and send alerts to Alertmanager', () => {
    const prom = services.prometheus!;
    const configMount = mounts(prom).find((m) => m.target === '/etc/prometheus/prometheus.yml')!;
    const cfg = readYaml(configMount.host) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
      rule_files: string[];
      alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    };
    const krtPort = services.krt!.command![services.krt!.command!.indexOf('--port') + 1];
    expect(cfg.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets))).toContain(`krt:${krtPort}`);
    expect(services.krt!.ports).toContain(`${krtPort}:${krtPort}`);
    const rules = mounts(prom).find((m) => m.target === '/etc/prometheus/rules')!;
    expect(statSync(rules.host).isDirectory()).toBe(true);
    expect(cfg.rule_files).toContain('/etc/prometheus/rules/*.yml');
    expect(cfg.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(['alertmanager:9093']);
    const am = mounts(services.alertmanager!).find((m) => m.target === '/etc/alertmanager/alertmanager.yml')!;
    expect(readYaml(am.host)).toHaveProperty('route');
  });

  it('provisions Grafana with the Prometheus data source and the generated dashboards', () => {
    const g = services.grafana!;
    const prov = mounts(g).find((m) => m.target === '/etc/grafana/provisioning')!;
    const ds = readYaml(`${prov.host}/datasources/prometheus.yml`) as { datasources: { type: string; url: string }[] };
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const dash = readYaml(`${prov.host}/dashboards/kr-tracker.yml`) as { providers: { options: { path: string } }[] };
    const path = dash.providers[0]!.options.path;
    const mounted = mounts(g).find((m) => m.target === path);
    expect(mounted?.host).toBe('./dashboards/generated');
  });

  it('keeps Redis, Prometheus, Alertmanager and Grafana data on named volumes, Redis with AOF and no eviction', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, target] of [
      ['redis', '/data'],
      ['prometheus', '/prometheus'],
      ['alertmanager', '/alertmanager'],
      ['grafana', '/var/lib/grafana'],
    ] as const) {
      const v = volumes(services[name]!).find((m) => m.target === target);
      expect(v, `${name} keeps ${target} on a named volume`).toBeDefined();
      expect(declared).toContain(v!.host);
    }
    const redis = services.redis!.command!;
    expect(redis.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    // Reached by the stack only: no port on the host.
    expect(services.redis!.ports).toBeUndefined();
  });

  it('has the service listen on every interface inside its container, and Prometheus read it there', () => {
    const cmd = services.krt!.command!;
    expect(cmd[cmd.indexOf('--host') + 1]).toBe('0.0.0.0');
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/CMD \[.*"--host", "0\.0\.0\.0"/);
    expect(services.krt!.environment?.PROMETHEUS_URL).toMatch(/^\$\{PROMETHEUS_URL:-http:\/\/prometheus:9090\}$/);
  });

  it('has Alertmanager deliver to a webhook whose URL comes from the environment', () => {
    const am = services.alertmanager! as Service & { entrypoint?: string[] };
    const cfgMount = mounts(am).find((m) => m.target === '/etc/alertmanager/alertmanager.yml')!;
    const cfg = readYaml(cfgMount.host) as { route: { receiver: string }; receivers: { name: string; webhook_configs?: { url: string }[] }[] };
    const receiver = cfg.receivers.find((r) => r.name === cfg.route.receiver)!;
    expect(receiver.webhook_configs?.[0]?.url).toBe('http://alertmanager-webhook-url.invalid/replaced-at-start');
    // The placeholder is replaced from the container's environment before Alertmanager starts.
    const script = [...(am.entrypoint ?? []), ...(am.command ?? [])].join(' ');
    expect(script).toContain('s|http://alertmanager-webhook-url.invalid/replaced-at-start|$${ALERTMANAGER_WEBHOOK_URL}|');
    expect(script).toContain(cfgMount.target);
    expect(am.environment?.ALERTMANAGER_WEBHOOK_URL).toMatch(/^\$\{ALERTMANAGER_WEBHOOK_URL:-/);
    const amtool = spawnSync('amtool', ['check-config', cfgMount.host], { encoding: 'utf8' });
    if (amtool.error === undefined) expect(amtool.status, amtool.stdout + amtool.stderr).toBe(0);
  });
});
