/* eslint-disable @typescript-eslint/no-require-imports */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './api-process';
import { waitFor } from './http-client';

/**
 * scripts/cluster.js for the e2e tests: the real nginx + supervisord topology of `npm run up --
 * --instances N`, and what the tests read from it (nginx's access log, supervisorctl).
 */
export interface ClusterHandle {
  url: string;
  dir: string;
  logDir: string;
  nginxDir: string;
  apiPorts: number[];
  workerMetricsPorts: number[];
  child: { pid: number };
  ctl(args: string[]): Promise<string>;
  pidOf(program: string): Promise<number>;
  apiProgram(port: number): string;
  stop(): Promise<void>;
  output(): string;
}
interface ClusterModule {
  start(opts: { instances: number; workers?: number; port: number; env: Record<string, string>; name: string; readyTimeoutMs?: number }): Promise<ClusterHandle>;
}
export const clusterScript = require(join(ROOT, 'scripts', 'cluster.js')) as ClusterModule;

export interface AccessLine {
  request_id: string;
  remote_addr: string;
  uri: string;
  status: number;
  upstream_addr: string;
}

export function accessLog(cluster: ClusterHandle): AccessLine[] {
  const file = join(cluster.nginxDir, 'access.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AccessLine);
}

/** The api port that finally answered a logged request ("127.0.0.1:3001, 127.0.0.1:3002" after a failover → 3002). */
export function upstreamPort(line: AccessLine): number {
  const last = line.upstream_addr.split(', ').pop() as string;
  return Number(last.split(':').pop());
}

/** The api port nginx sent a request to, from nginx's own access log. */
export async function servedBy(cluster: ClusterHandle, requestId: string): Promise<number> {
  let line: AccessLine | undefined;
  await waitFor(async () => (line = accessLog(cluster).find((l) => l.request_id === requestId)) !== undefined, 10000);
  return upstreamPort(line as AccessLine);
}

export async function portIsFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
    return false;
  } catch (err) {
    return ((err as { cause?: { code?: string } }).cause?.code ?? '') === 'ECONNREFUSED';
  }
}

/** The kernel's first ephemeral port: outgoing connections take local ports from there up. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 21000) return low;
  } catch {
    // not Linux
  }
  return 32768;
}

/**
 * A random base port with `span` free ports from it (nginx on the base, api processes after it,
 * workers' metrics at base+101...). Below the ephemeral range: a port that is free now but taken
 * by some outgoing connection a moment later makes an api process fail with EADDRINUSE.
 */
export async function freeBase(span: number): Promise<number> {
  const room = ephemeralLow() - 20000 - span - 110;
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 20000 + Math.floor(Math.random() * room);
    const ports = [...Array(span).keys()].map((i) => base + i);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for the cluster');
}

/** Every api process answers /up on its own port (scripts/cluster.js returns once one answers through nginx). */
export async function allApisUp(cluster: ClusterHandle, timeoutMs = 120000): Promise<void> {
  for (const port of cluster.apiPorts) {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/up`, { signal: AbortSignal.timeout(5000) }).catch(() => null))?.status === 200, timeoutMs, 500);
  }
}
