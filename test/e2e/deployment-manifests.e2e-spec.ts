import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { envSchema, parseEnv } from '../../src/config/env.schema';
import { ROOT } from '../support/api-process';

/**
 * Not an end-to-end test: it starts nothing and only parses the deployment files (docker-compose.yml,
 * ops/). There is no Docker engine or Kubernetes cluster on the machines this runs on, so the
 * deployment files are checked as data: the topology, pinned images, start order and health
 * checks, the shared nginx site, and that every variable is one the api accepts.
 */
type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  stop_grace_period?: string;
  networks?: { default?: { ipv4_address?: string } };
};

const read = (...p: string[]) => readFileSync(join(ROOT, ...p), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const names = Object.keys(services);
const appServices = names.filter((n) => services[n].image === 'switchboard:local');
const apis = appServices.filter((n) => !services[n].command);
const workers = appServices.filter((n) => services[n].command?.includes('queue:work'));
/** The worker program every deployment runs: supervisor/switchboard-worker.conf (cluster mode renders this file). */
const shippedWorker = read('supervisor', 'switchboard-worker.conf');
const WORKER_COMMAND = ['node', 'bin/switchboard', ...(/^command=\S+ \S*bin\/switchboard (.+)$/m.exec(shippedWorker) as RegExpExecArray)[1].split(' ')];
const WORKER_STOP_S = Number((/^stopwaitsecs=(\d+)$/m.exec(shippedWorker) as RegExpExecArray)[1]);
const SPEC_METRICS = [
  'socket_active_connections',
  'socket_messages_total',
  'sse_active_clients',
  'http_request_duration_seconds',
  'db_query_duration_seconds',
  'queue_jobs',
  'queue_job_duration_seconds',
  'connection_capacity_ratio',
];

/** Compose's ${VAR:-default} with nothing set in the environment; ${VAR:?error} (required) set to a fresh value. */
const withDefaults = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v)
        .replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')
        .replace(/\$\{([A-Z_]+):\?[^}]*\}/g, (_, name: string) => `operator-set-${name.toLowerCase()}-0123456789`),
    ]),
  );

describe('docker-compose.yml', () => {
  it('runs MySQL primary + replica, Redis, three api processes, two workers, nginx, Prometheus and Grafana', () => {
    expect(names).toEqual(expect.arrayContaining(['mysql-primary', 'mysql-replica', 'redis', 'migrate', 'nginx', 'prometheus', 'grafana']));
    expect(apis).toEqual(['api-1', 'api-2', 'api-3']);
    expect(workers).toHaveLength(2);
    for (const w of workers) {
      // The shipped Supervisor program's command and stop grace (longer than its --timeout).
      expect(services[w].command).toEqual(WORKER_COMMAND);
      expect(services[w].stop_grace_period).toBe(`${WORKER_STOP_S}s`);
    }
    expect(WORKER_COMMAND).toEqual(expect.arrayContaining(['queue:work', '--queue=high,default', '--tries=3', '--timeout=60']));
    expect(services.migrate.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    // The scheduler (schedule:work), after the migrations like the workers, with time to finish a running task.
    expect(services.scheduler.command).toEqual(['node', 'bin/switchboard', 'schedule:work']);
    expect(services.scheduler.depends_on).toEqual(services['worker-1'].depends_on);
    expect(services.scheduler.stop_grace_period).toBe('11m');
  });

  it('pins every image by version tag, and the Dockerfile builds on the Node 24 the project runs on (same version as the `node` dev dependency)', () => {
    for (const n of names) {
      const image = services[n].image as string;
      if (image === 'switchboard:local') {
        expect(services[n].build).toBeDefined();
        continue;
      }
      expect(image).toMatch(/^[a-z0-9./-]+:v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$/);
    }
    expect(services['mysql-primary'].image).toMatch(/^mysql:8\./);
    const froms = read('Dockerfile')
      .split('\n')
      .filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const pinned = (JSON.parse(read('package.json')) as { devDependencies: Record<string, string> }).devDependencies.node;
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    for (const f of froms) expect(f).toMatch(new RegExp(`^FROM node:${pinned.replace(/\./g, '\\.')}-bookworm-slim AS \\w`));
  });

  it('starts things in order: data services healthy, migrations done, then api and workers, then nginx', () => {
    for (const n of [...apis, ...workers]) {
      expect(services[n].depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        'mysql-primary': { condition: 'service_healthy' },
        'mysql-replica': { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(services.nginx.depends_on).toEqual(Object.fromEntries(apis.map((a) => [a, { condition: 'service_healthy' }])));
    // Whatever someone waits on to be healthy has a health check.
    for (const n of names) {
      const deps = services[n].depends_on;
      if (!deps || Array.isArray(deps)) continue;
      for (const [dep, { condition }] of Object.entries(deps)) {
        if (condition === 'service_healthy') expect(services[dep].healthcheck?.test.length).toBeGreaterThan(0);
      }
    }
    expect(services['api-1'].healthcheck?.test.join(' ')).toContain('/up');
  });

  it('gives the api and workers only variables the api accepts, and they validate in production', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const n of appServices) {
      const env = services[n].environment as Record<string, string>;
      for (const k of Object.keys(env)) expect(known.has(k) ? k : `unknown variable ${k} in ${n}`).toBe(k);
      const parsed = parseEnv(withDefaults(env));
      expect(parsed.NODE_ENV).toBe('production');
      expect(parsed.DB_WRITE_HOST).toBe('mysql-primary');
      expect(parsed.DB_READ_HOST).toEqual(['mysql-replica:3306']);
      expect(parsed.TRUSTED_PROXIES).toContain(services.nginx.networks?.default?.ipv4_address);
      // No secret has a default anyone could read here.
      expect(env.SESSION_SECRET).toMatch(/^\$\{SESSION_SECRET:\?/);
      expect(env.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?/);
    }
    expect(new Set(apis.map((a) => services[a].environment?.INSTANCE_ID)).size).toBe(3);
    for (const w of workers) expect(services[w].environment?.METRICS_PORT).toBe('9464');
  });

  it("serves the same nginx site as cluster mode, with every placeholder set and one upstream per api", () => {
    expect(services.nginx.volumes).toContain('./nginx/templates:/etc/nginx/templates:ro');
    const template = read('nginx', 'templates', 'switchboard.conf.template');
    const placeholders = [...new Set([...template.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]))];
    const env = services.nginx.environment as Record<string, string>;
    expect(placeholders.sort()).toEqual(Object.keys(env).filter((k) => k.startsWith('SWITCHBOARD_')).sort());
    expect(new RegExp(env.NGINX_ENVSUBST_FILTER).test('SWITCHBOARD_LISTEN')).toBe(true);
    expect(env.SWITCHBOARD_UPSTREAM_SERVERS.match(/server ([\w-]+):3000/g)).toEqual(apis.map((a) => `server ${a}:3000`));
    // Socket.IO: the same processes, never taken out by a storm's slow accepts.
    expect(env.SWITCHBOARD_SOCKET_UPSTREAM_SERVERS.match(/server ([\w-]+):3000 max_fails=0;/g)).toEqual(apis.map((a) => `server ${a}:3000 max_fails=0;`));
    // Sticky by the whole address (ip_hash keyed on the /24), the same ring for both upstreams.
    expect(template.match(/hash \$remote_addr consistent;/g)).toHaveLength(2);
    expect(template).not.toMatch(/ip_hash;/);
    expect(template).toMatch(/location \/socket\.io\/ \{\s+proxy_pass http:\/\/switchboard_sockets;/);
    // SSE streams too: a stream nginx let through to try a process again kept it "out" while it lasted.
    expect(template).toMatch(/location \/api\/realtime\/ \{\s+proxy_pass http:\/\/switchboard_sockets;/);
    // A 503 every process answers (Redis failover, maintenance) takes all out: back within 2 s.
    expect(env.SWITCHBOARD_UPSTREAM_SERVERS.match(/max_fails=2 fail_timeout=2s;/g)).toHaveLength(apis.length);
    expect(template).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(template).toMatch(/proxy_next_upstream error timeout http_502 http_503;/);
  });

  it('sets up GTID replication from the init scripts', () => {
    const primary = read('docker', 'mysql', 'primary.cnf');
    const replica = read('docker', 'mysql', 'replica.cnf');
    for (const cnf of [primary, replica]) {
      expect(cnf).toMatch(/^gtid-mode = ON$/m);
      expect(cnf).toMatch(/^enforce-gtid-consistency = ON$/m);
    }
    expect(primary.match(/server-id = (\d+)/)?.[1]).not.toEqual(replica.match(/server-id = (\d+)/)?.[1]);
    expect(read('docker', 'mysql', 'primary', '01-replication-user.sh')).toMatch(/GRANT REPLICATION SLAVE/);
    const start = read('docker', 'mysql', 'replica', '01-start-replica.sh');
    expect(start).toMatch(/SOURCE_AUTO_POSITION = 1/);
    expect(start).toMatch(/START REPLICA;/);
    expect(start).toMatch(/super_read_only = ON/);
    expect(services['mysql-replica'].volumes).toContain('./docker/mysql/replica:/docker-entrypoint-initdb.d:ro');
    expect(services['mysql-replica'].healthcheck?.test.join(' ')).toContain('Replica_IO_Running: Yes');
    // The replica gets the database and user from the primary's binary log, not from its own init.
    expect(services['mysql-replica'].environment?.MYSQL_DATABASE).toBeUndefined();
  });
});

describe('docker-compose.sentinel.yml (Redis Sentinel: primary + 2 replicas + 3 sentinels)', () => {
  const override = parse(read('docker-compose.sentinel.yml'), { merge: true }) as { services: Record<string, Service> };
  const extra = override.services;
  // docker compose -f docker-compose.yml -f docker-compose.sentinel.yml: mappings (environment, depends_on) merge, the rest is replaced.
  const merged = (n: string): Service => ({
    ...services[n],
    ...extra[n],
    environment: { ...(services[n]?.environment ?? {}), ...(extra[n]?.environment ?? {}) },
    depends_on: { ...((services[n]?.depends_on) ?? {}), ...((extra[n]?.depends_on) ?? {}) },
  });
  const sentinels = Object.keys(extra).filter((n) => n.startsWith('redis-sentinel-'));
  const replicas = Object.keys(extra).filter((n) => n.startsWith('redis-replica-'));

  it('adds two replicas of the `redis` service and three sentinels monitoring it with a quorum of 2, on pinned images', () => {
    expect(sentinels).toHaveLength(3);
    expect(replicas).toHaveLength(2);
    for (const n of [...sentinels, ...replicas]) {
      expect(extra[n].image).toBe(services.redis.image);
      expect(extra[n].healthcheck?.test.length).toBeGreaterThan(0);
    }
    for (const r of replicas) expect(extra[r].command?.join(' ')).toContain('--replicaof redis 6379');
    for (const n of sentinels) {
      const script = extra[n].command?.join(' ') ?? '';
      expect(script).toContain('sentinel monitor switchboard redis 6379 2');
      expect(script).toContain('--sentinel');
      expect(script).toContain('sentinel resolve-hostnames yes');
    }
    // Every data node keeps an AOF, as the single Redis does.
    for (const n of ['redis', ...replicas]) expect(extra[n].command?.join(' ')).toContain('--appendonly yes');
  });

  it('points every app process at the sentinels, with variables the api accepts, after they are healthy', () => {
    const known = new Set(Object.keys(envSchema.shape));
    for (const n of appServices) {
      const svc = merged(n);
      const env = svc.environment as Record<string, string>;
      for (const k of Object.keys(env)) expect(known.has(k) ? k : `unknown variable ${k} in ${n}`).toBe(k);
      const parsed = parseEnv(withDefaults(env));
      expect(parsed.REDIS_SENTINELS).toEqual(sentinels.map((h) => `${h}:26379`));
      expect(parsed.REDIS_SENTINEL_NAME).toBe('switchboard');
      for (const s of sentinels) expect((svc.depends_on as Record<string, { condition: string }>)[s]).toEqual({ condition: 'service_healthy' });
    }
  });
});

describe('ops/: Prometheus, alerts, Grafana', () => {
  const prometheus = parse(read('ops', 'prometheus', 'prometheus.yml')) as {
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const alerts = parse(read('ops', 'prometheus', 'alerts.yml')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: { runbook: string } }> }> };
  const rules = alerts.groups.flatMap((g) => g.rules);

  it('scrapes every api process and every worker directly', () => {
    const targets = (job: string) => prometheus.scrape_configs.find((s) => s.job_name === job)?.static_configs.flatMap((c) => c.targets);
    expect(targets('switchboard-api')).toEqual(apis.map((a) => `${a}:3000`));
    expect(targets('switchboard-worker')).toEqual(workers.map((w) => `${w}:9464`));
  });

  it('alerts on capacity at 75 % and 90 %, queue backlog, replica down, event-loop lag and 5xx rate', () => {
    const expr = (name: string) => rules.find((r) => r.alert === name)?.expr ?? '';
    expect(expr('ConnectionCapacityWarning')).toContain('connection_capacity_ratio) >= 0.75');
    expect(expr('ConnectionCapacityCritical')).toContain('connection_capacity_ratio) >= 0.90');
    expect(expr('QueueBacklog')).toContain('queue_jobs{state="waiting"}');
    expect(expr('ReplicaDown')).toContain('db_replica_up');
    expect(expr('EventLoopLag')).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(expr('Http5xxRate')).toContain('status=~"5.."');
  });

  it('has a runbook section for every alert', () => {
    const runbook = read('docs', 'runbook.md');
    const anchors = new Set([...runbook.matchAll(/^#{2,3} (\S+)/gm)].map((m) => m[1].toLowerCase()));
    for (const r of rules) {
      const anchor = r.annotations.runbook.split('#')[1];
      expect(anchors.has(anchor) ? anchor : `docs/runbook.md has no section "${anchor}" (${r.alert})`).toBe(anchor);
    }
  });

  it('provisions Grafana with the Prometheus data source and a dashboard over every SPEC §8 metric', () => {
    const datasource = parse(read('ops', 'grafana', 'provisioning', 'datasources', 'prometheus.yml')) as { datasources: Array<{ uid: string; url: string }> };
    const dashboard = JSON.parse(read('ops', 'grafana', 'dashboards', 'switchboard.json')) as {
      panels: Array<{ type: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> }>;
    };
    const uid = datasource.datasources[0].uid;
    expect(datasource.datasources[0].url).toBe('http://prometheus:9090');
    const queries = dashboard.panels.filter((p) => p.type !== 'row');
    for (const p of queries) expect(p.datasource?.uid).toBe(uid);
    const exprs = queries.flatMap((p) => p.targets ?? []).map((t) => t.expr).join('\n');
    for (const m of SPEC_METRICS) expect(exprs).toContain(m);
    expect(services.grafana.volumes).toEqual(expect.arrayContaining(['./ops/grafana/provisioning:/etc/grafana/provisioning:ro', './ops/grafana/dashboards:/var/lib/grafana/dashboards:ro']));
  });
});

describe('ops/k8s', () => {
  // Manifests are arbitrary nested YAML; the assertions below are the type check.
  type Doc = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };
  const dir = join(ROOT, 'ops', 'k8s');
  const docs: Doc[] = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS() as Doc));
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

  it('has the api Deployment with HPA and PDB, the worker Deployment, Services and the ConfigMap', () => {
    for (const [kind, name] of [
      ['Deployment', 'switchboard-api'],
      ['HorizontalPodAutoscaler', 'switchboard-api'],
      ['PodDisruptionBudget', 'switchboard-api'],
      ['Service', 'switchboard-api'],
      ['Deployment', 'switchboard-worker'],
      ['PodDisruptionBudget', 'switchboard-worker'],
      ['ConfigMap', 'switchboard-env'],
    ]) {
      expect(find(kind, name) ? `${kind}/${name}` : `missing ${kind}/${name}`).toBe(`${kind}/${name}`);
    }
    expect(find('HorizontalPodAutoscaler', 'switchboard-api')?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'switchboard-api' });
    const worker = find('Deployment', 'switchboard-worker')?.spec.template.spec.containers[0];
    expect(worker.command).toEqual(WORKER_COMMAND);
    expect(find('Deployment', 'switchboard-worker')?.spec.template.spec.terminationGracePeriodSeconds).toBe(WORKER_STOP_S);
  });

  it('selects pods that exist and probes /up for readiness', () => {
    const api = find('Deployment', 'switchboard-api')?.spec;
    const podLabels = api.template.metadata.labels;
    for (const d of docs.filter((x) => ['Service', 'PodDisruptionBudget'].includes(x.kind) && x.metadata.name === 'switchboard-api')) {
      const selector = d.spec.selector.matchLabels ?? d.spec.selector;
      expect(podLabels).toEqual(expect.objectContaining(selector));
    }
    expect(api.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/up');
    expect(api.template.spec.containers[0].livenessProbe.httpGet.path).toBe('/livez');
  });

  it('configures only variables the api accepts, valid in production with the secrets added', () => {
    const data = find('ConfigMap', 'switchboard-env')?.data as Record<string, string>;
    const known = new Set(Object.keys(envSchema.shape));
    for (const k of Object.keys(data)) expect(known.has(k) ? k : `unknown variable ${k}`).toBe(k);
    const parsed = parseEnv({ ...data, SESSION_SECRET: 'x'.repeat(16), JWT_SECRET: 'y'.repeat(16) });
    expect(parsed.DB_READ_HOST).toHaveLength(2);
  });
});
