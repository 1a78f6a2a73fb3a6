// @ts-check
'use strict';
/**
 * partition: a fourth api process on its own host (a network namespace, drills/lib/netns-host.js)
 * joins nginx's upstream and takes its share of the clients. Its link to Redis is cut for
 * `--duration` seconds (default 20), healed, then the same for MariaDB. While cut it must say so
 * (/up 503, so nginx sends new requests elsewhere), its clients move or are told, nothing is lost
 * silently; once healed it must rejoin by itself (/up 200 again, serving).
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Load, sleep } = require('../lib/load');
const { loadGuarantees } = require('../lib/checks');
const { createHost } = require('../lib/netns-host');
const { parseMetrics } = require('../lib/process-sampler');
const { ROOT } = require('../lib/topology');
const { upstreamServers, socketUpstreamServers } = require('../../scripts/cluster');

async function status(url) {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) }).catch(() => null);
  return r ? r.status : 0;
}

async function until(fn, timeoutMs, stepMs = 250) {
  const t = Date.now();
  while (Date.now() - t < timeoutMs) {
    if (await fn()) return Date.now() - t;
    await sleep(stepMs);
  }
  return null;
}

async function run({ cluster, env, opts, log }) {
  const redisPort = Number(new URL(env.REDIS_URL).port);
  const primaryPort = Number(env.DB_WRITE_PORT);
  const replicaPort = Number(String(env.DB_READ_HOST).split(',')[0].split(':')[1] ?? primaryPort);
  const host = createHost({ redis: [redisPort], db: [...new Set([primaryPort, replicaPort])] });
  const port = cluster.apiPorts[cluster.apiPorts.length - 1] + 10;
  const apiUrl = `http://${host.links.front.nsAddr}:${port}`;
  const siteFile = path.join(cluster.nginxDir, 'switchboard.conf');
  const site = fs.readFileSync(siteFile, 'utf8');
  let api = null;
  const load = new Load(cluster.url, { clients: opts.clients ?? 600, rate: opts.rate ?? 50, log });
  try {
    api = spawn('ip', ['netns', 'exec', host.name, process.execPath, path.join(ROOT, 'dist', 'main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        // Its own host: listen where nginx reaches it (the default, loopback, is the namespace's own).
        HOST: host.links.front.nsAddr,
        INSTANCE_ID: 'partitioned-api',
        DB_WRITE_HOST: host.links.db.hostAddr,
        DB_WRITE_PORT: String(primaryPort),
        DB_READ_HOST: `${host.links.db.hostAddr}:${replicaPort}`,
        REDIS_URL: `redis://${host.links.redis.hostAddr}:${redisPort}`,
        TRUSTED_PROXIES: `loopback,${host.links.front.hostAddr}`,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let apiErr = '';
    api.stderr?.on('data', (c) => (apiErr = (apiErr + c.toString()).slice(-4000)));
    if ((await until(async () => (await status(`${apiUrl}/up`)) === 200, 90000)) === null) throw new Error(`the api in ${host.name} did not come up: ${apiErr}`);
    // nginx gets the new host as a fourth upstream server, for HTTP and for Socket.IO.
    let withHost = site;
    for (const servers of [upstreamServers, socketUpstreamServers]) {
      const last = servers([`127.0.0.1:${cluster.apiPorts[cluster.apiPorts.length - 1]}`]);
      withHost = withHost.replace(last, `${last}\n    ${servers([`${host.links.front.nsAddr}:${port}`])}`);
    }
    fs.writeFileSync(siteFile, withHost);
    process.kill(await cluster.pidOf('nginx'), 'SIGHUP');
    await sleep(2000);
    log(`api on ${host.name} (${apiUrl}) in nginx's upstream`);
    await load.start();
    await sleep(5000);
    const cuts = [];
    const cutS = opts.duration ?? 20;
    for (const which of /** @type {const} */ (['redis', 'db'])) {
      const before = parseMetrics(await (await fetch(`${apiUrl}/metrics`)).text());
      const t0 = Date.now();
      const how = host.cut(which);
      log(`${which} cut (${how})`);
      const upDownMs = await until(async () => (await status(`${apiUrl}/up`)) === 503, 30000);
      await sleep(Math.max(0, cutS * 1000 - (Date.now() - t0)));
      const during = parseMetrics(await (await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5000) }).catch(() => ({ text: async () => '' }))).text());
      const healedAt = Date.now();
      host.heal(which);
      const rejoinMs = await until(async () => (await status(`${apiUrl}/up`)) === 200, 60000);
      log(`${which}: /up 503 after ${upDownMs} ms, 200 again ${rejoinMs} ms after the heal`);
      cuts.push({
        which,
        how,
        cutS,
        upTurned503AfterMs: upDownMs,
        rejoinedAfterHealMs: rejoinMs,
        socketsBefore: before.socket_active_connections ?? null,
        socketsAtEndOfCut: during.socket_active_connections ?? null,
        sseBefore: before.sse_active_clients ?? null,
        sseAtEndOfCut: during.sse_active_clients ?? null,
        window: [t0, healedAt],
      });
      await sleep(10000);
    }
    const figures = await load.stop({ window: [cuts[0].window[0], cuts[cuts.length - 1].window[1]] });
    return {
      figures: { ...figures, partitionedApi: apiUrl, cuts },
      guarantees: {
        ...loadGuarantees(figures),
        upTurned503WhileCut: cuts.every((c) => c.upTurned503AfterMs !== null),
        rejoinedByItself: cuts.every((c) => c.rejoinedAfterHealMs !== null),
        // Its clients must not sit on a process that cannot deliver: they move to another one (or are told).
        // (A MariaDB cut leaves delivery working: only the Redis cut must move them.)
        clientsMovedWhileRedisCut: cuts
          .filter((c) => c.which === 'redis')
          .every((c) => [[c.socketsBefore, c.socketsAtEndOfCut], [c.sseBefore, c.sseAtEndOfCut]].every(([before, end]) => !before || end === null || end < before)),
      },
    };
  } finally {
    load.kill();
    fs.writeFileSync(siteFile, site);
    const nginxPid = await cluster.pidOf('nginx').catch(() => 0);
    if (nginxPid) process.kill(nginxPid, 'SIGHUP');
    if (api && api.exitCode === null) api.kill('SIGKILL');
    host.destroy();
  }
}

module.exports = { run };
