import { existsSync, readFileSync } from 'node:fs';
import { outsideAddress, tcpReachable } from '../support/network';
import { join } from 'node:path';
import { createAdmin } from '../support/admin';
import { allApisUp, ClusterHandle, clusterScript, freeBase, portIsFree, servedBy } from '../support/cluster';
import { waitFor } from '../support/http-client';
import { stackEnv } from '../support/stack';

/**
 * The production topology on one machine, for real: scripts/cluster.js renders the project's
 * nginx site and supervisor programs, a real supervisord runs a real nginx in front of two api
 * processes (and the workers), and the tests talk to nginx only.
 */
describe('cluster mode: nginx + supervisord in front of several api processes', () => {
  jest.setTimeout(240000);
  let cluster: ClusterHandle;

  beforeAll(async () => {
    const port = await freeBase(3);
    cluster = await clusterScript.start({
      instances: 2,
      port,
      env: { ...stackEnv(), NODE_ENV: 'test', LOG_LEVEL: 'info' },
      name: `e2e-${process.env.SWITCHBOARD_STACK || 'given'}`,
      readyTimeoutMs: 180000,
    });
    await allApisUp(cluster);
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers /up with 200 through nginx from one of the api processes', async () => {
    const res = await fetch(`${cluster.url}/up`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ok');
    const port = await servedBy(cluster, res.headers.get('x-request-id') as string);
    expect(cluster.apiPorts).toContain(port);
  });

  it('keeps the api processes and worker metrics on loopback: only nginx faces the network', async () => {
    // What another host on this machine's network would reach: its first non-loopback IPv4 address.
    const outside = outsideAddress();
    expect(outside).toBeDefined();
    const reachable = tcpReachable;
    const workerPorts = cluster.workerMetricsPorts;
    await waitFor(async () => (await Promise.all(workerPorts.map((p) => reachable('127.0.0.1', p)))).every(Boolean), 30000);
    for (const port of [...cluster.apiPorts, ...workerPorts]) {
      expect(await reachable('127.0.0.1', port)).toBe(true);
      expect(await reachable(outside as string, port)).toBe(false);
    }
  });

  it("hands nginx's X-Request-Id to the api, which answers and logs with it", async () => {
    const res = await fetch(`${cluster.url}/api/auth/me`);
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id') as string;
    // nginx's $request_id (32 hex digits), not an id the api made up (a UUID).
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const port = await servedBy(cluster, id);
    const apiLog = join(cluster.logDir, `switchboard-api-${port}.log`);
    await waitFor(async () => existsSync(apiLog) && readFileSync(apiLog, 'utf8').includes(id), 10000);
  });

  it('restarts a SIGKILLed api process while /up keeps answering 200 through nginx', async () => {
    // Another process must be there to take over: every one answers /up, and nginx, which took any that was
    // still booting when it was first asked for a failed one (max_fails=2), tries them again after fail_timeout (2 s).
    for (const port of cluster.apiPorts) await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/up`).catch(() => null))?.status === 200, 60000);
    await new Promise((r) => setTimeout(r, 2500));
    const probe = await fetch(`${cluster.url}/up`);
    const victimPort = await servedBy(cluster, probe.headers.get('x-request-id') as string);
    const program = cluster.apiProgram(victimPort);
    const oldPid = await cluster.pidOf(program);
    expect(oldPid).toBeGreaterThan(0);

    const statuses: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        try {
          const r = await fetch(`${cluster.url}/up`, { signal: AbortSignal.timeout(15000) });
          statuses.push(r.status);
          await r.arrayBuffer();
        } catch {
          statuses.push(0);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await new Promise((r) => setTimeout(r, 300));
    process.kill(oldPid, 'SIGKILL');
    // supervisord notices the exit and starts the same program again, with a new pid.
    await waitFor(async () => {
      const pid = await cluster.pidOf(program);
      return pid > 0 && pid !== oldPid;
    }, 60000);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${victimPort}/up`).catch(() => null))?.status === 200, 90000);
    probing = false;
    await prober;

    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // RUNNING once it has stayed up for startsecs.
    await waitFor(async () => /RUNNING/.test(await cluster.ctl(['status', program])), 30000);
  });

  it('serves the SPEC §8 metric names at /metrics through nginx', async () => {
    const res = await fetch(`${cluster.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const name of [
      'http_request_duration_seconds',
      'db_query_duration_seconds',
      'socket_active_connections',
      'socket_messages_total',
      'sse_active_clients',
      'queue_jobs',
      'queue_job_duration_seconds',
      'connection_capacity_ratio',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('runs the api processes and the workers that supervisord starts on Node 24', async () => {
    // prom-client's nodejs_version_info is read from the process itself, so this is the runtime
    // supervisord really started, not the one the test runs on.
    const versionOf = async (port: number): Promise<string> => {
      let text = '';
      await waitFor(async () => {
        text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => (r.ok ? r.text() : ''), () => '');
        return text.includes('nodejs_version_info');
      }, 60000, 500);
      return /nodejs_version_info\{version="(v[\d.]+)"/.exec(text)?.[1] ?? 'none';
    };
    const ports = [...cluster.apiPorts, ...cluster.workerMetricsPorts];
    expect(cluster.workerMetricsPorts.length).toBeGreaterThan(0);
    const versions = await Promise.all(ports.map(versionOf));
    expect(versions).toHaveLength(ports.length);
    for (const v of versions) expect(v).toMatch(/^v24\./);
  });

  it('streams SSE through nginx unbuffered: the status feed lists every api process', async () => {
    const admin = await createAdmin(cluster.url);
    const controller = new AbortController();
    const res = await fetch(`${cluster.url}/api/performance/stream`, { headers: { cookie: admin.client.cookieHeader }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const instances = new Set<string>();
    const arrivals: number[] = [];
    try {
      // Events arrive one by one (every 2 s), not when a buffer fills: nginx does not hold them back.
      await waitFor(
        async () => {
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          text += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = text.indexOf('\n\n')) >= 0) {
            const event = text.slice(0, end);
            text = text.slice(end + 2);
            const data = /^data: (.*)$/m.exec(event)?.[1];
            if (!/^event: status$/m.test(event) || !data) continue;
            arrivals.push(Date.now());
            for (const p of (JSON.parse(data) as { processes: Array<{ instance: string }> }).processes) instances.add(p.instance);
          }
          return arrivals.length >= 2 && cluster.apiPorts.every((port) => [...instances].some((i) => i.endsWith(`-api-${port}`)));
        },
        60000,
        0,
      );
    } finally {
      controller.abort();
    }
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThan(1000);
  });

  it('answers in the API error shape when no api process is up', async () => {
    for (const port of cluster.apiPorts) await cluster.ctl(['stop', cluster.apiProgram(port)]);
    const res = await fetch(`${cluster.url}/up`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'no api instance is answering' });
    for (const port of cluster.apiPorts) await cluster.ctl(['start', cluster.apiProgram(port)]);
    await waitFor(async () => (await fetch(`${cluster.url}/up`)).status === 200, 90000);
  });

  it('stops nginx and every api process when supervisord is stopped', async () => {
    const pids = await Promise.all(cluster.apiPorts.map((p) => cluster.pidOf(cluster.apiProgram(p))));
    const nginxPid = await cluster.pidOf('nginx');
    await cluster.stop();
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect([...pids, nginxPid].filter(alive)).toEqual([]);
    expect(await portIsFree(Number(new URL(cluster.url).port))).toBe(true);
  });
});
