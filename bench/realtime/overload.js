// Part (c) of bench/realtime/run.js: overload, server-bound. Two server processes (ours or stock),
// the receivers in --procs child processes (bench/realtime/receivers.js, each holding a share of the
// receivers, alternating between both servers), the publisher here (no Socket.IO server in this process).
// Publishes --overload-rate msg/s for --seconds to every receiver, drains (until all arrived or nothing new
// for 5 s, capped at 60 s), then collects per receiver what arrived, and reports:
// delivered/expected, deliveries/s, p50/p99, alive, shed, gaps filled, told to refetch, holes (lost:
// an event missing below the newest one a receiver got, after its last `recovered: false`), tail not
// yet arrived, duplicates (an event received twice), server CPU and peak RSS per process, receiver
// processes' CPU.
const { fork } = require('node:child_process');
const { join } = require('node:path');

module.exports = async function overload(kind, env, h) {
  const { args, root, sleep, now, procStat, startOurs, startStock, stop, tokenFor } = h;
  const receivers = Number(args['overload-receivers'] || 1000);
  const rate = Number(args['overload-rate'] || 1000);
  const seconds = Number(args.seconds || 5);
  const procs = Number(args.procs || 2);
  // --slow=N: N of the receivers stop reading while the publisher runs (slow consumers: shedding's case).
  const slow = Number(args.slow || 0);
  const total = rate * seconds;
  if (total > 200000) throw new Error('part c: at most 200,000 messages per run (rate x seconds)');
  const Redis = require(join(root, 'node_modules', 'ioredis'));

  const redis = new Redis(env.REDIS_URL);
  // Optional: a smaller pub/sub output buffer limit in Redis for this run (our own stack's Redis only),
  // so that a subscriber that cannot keep up is dropped by Redis within the run: --pubsub-limit='4mb 1mb 2'
  let restoreLimit = null;
  if (args['pubsub-limit']) {
    restoreLimit = (await redis.config('GET', 'client-output-buffer-limit'))[1];
    await redis.config('SET', 'client-output-buffer-limit', `pubsub ${args['pubsub-limit']}`);
  }
  // Subscriber connections Redis dropped (pub/sub output buffer over the limit) show up as new pub/sub
  // client ids: Redis 7.0 has no counter for those disconnections.
  const watcher = redis.duplicate();
  const subIds = new Set();
  const watchSubs = async () => {
    const list = await watcher.client('LIST', 'TYPE', 'pubsub').catch(() => '');
    for (const m of String(list).matchAll(/^id=(\d+)/gm)) subIds.add(m[1]);
  };

  const servers = kind === 'ours' ? [await startOurs(env), await startOurs(env)] : [await startStock(env), await startStock(env)];
  const children = [];
  try {
    const auth = kind === 'ours' ? await tokenFor(servers[0].url) : {};
    const hardStopMs = (seconds + 60 + 120) * 1000;
    let first = 0;
    for (let p = 0; p < procs; p++) {
      const count = Math.floor(receivers / procs) + (p < receivers % procs ? 1 : 0);
      const slowHere = Math.floor(slow / procs) + (p < slow % procs ? 1 : 0);
      const cfg = { urls: servers.map((s) => s.url), count, first, token: auth.token, total, hardStopMs, slow: slowHere, stallMs: seconds * 1000 };
      first += count;
      const child = fork(join(__dirname, 'receivers.js'), [JSON.stringify(cfg)], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
    }
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve, reject) => {
            c.once('message', (m) => (m.ready ? resolve() : reject(new Error(m.error))));
            c.once('exit', (code) => reject(new Error(`receiver process exited (${code}) before it was ready`)));
          }),
      ),
    );
    await sleep(1000);
    await watchSubs();
    const subsBefore = subIds.size;

    let publish;
    const idOf = new Float64Array(total + 1); // seq → event id (ours); stock has none: the seq stands in
    if (kind === 'ours') {
      const { EventLog } = require(join(root, 'dist', 'core', 'realtime', 'event-log.js'));
      const { RedisRealtimeService } = require(join(root, 'dist', 'core', 'realtime', 'redis-realtime.service.js'));
      const svc = new RedisRealtimeService(new EventLog(redis, { prefix: env.REDIS_PREFIX || 'sb:', historyPerRoom: 1000, historyTtlMs: 600000 }));
      publish = async (seq) => {
        idOf[seq] = Number(await svc.toUser(auth.userId, 'bench', { seq, t: now() }));
      };
    } else {
      const { Emitter } = require(join(root, 'node_modules', '@socket.io', 'redis-emitter'));
      const emitter = new Emitter(redis, { key: 'bench-stock' }).of('/realtime');
      publish = async (seq) => {
        idOf[seq] = seq;
        emitter.to('bench').emit('bench', { seq, t: now() });
      };
    }

    const cpuBefore = servers.map((s) => procStat(s.child.pid).cpuMs);
    const waitBefore = servers.map((s) => runQueueWaitMs(s.child.pid));
    const childCpuBefore = children.map((c) => procStat(c.pid).cpuMs);
    const pubCpuBefore = process.cpuUsage();
    const peakRssKb = servers.map(() => 0);
    const sampleRss = () =>
      servers.forEach((s, i) => {
        try {
          peakRssKb[i] = Math.max(peakRssKb[i], procStat(s.child.pid).rssKb);
        } catch {
          // gone (crashed): `alive` says so
        }
      });
    const rssTimer = setInterval(() => (sampleRss(), void watchSubs()), 250);
    // --kill-subscribers-at=2.5,4.9: at these seconds into publishing, close every pub/sub connection of
    // this stack's Redis, which is what Redis itself does to a subscriber over its output buffer limit.
    const kills = (args['kill-subscribers-at'] ? String(args['kill-subscribers-at']).split(',').map(Number) : []).map((at) =>
      setTimeout(() => void watcher.client('KILL', 'TYPE', 'pubsub').catch(() => undefined), at * 1000),
    );
    for (const c of children) c.send('start');
    const started = now();
    let sent = 0;
    let failed = 0;
    const inflight = [];
    while (sent < total) {
      const due = Math.floor(((now() - started) / 1000) * rate);
      while (sent < Math.min(due, total)) inflight.push(publish(++sent).catch(() => failed++));
      await sleep(1);
    }
    await Promise.all(inflight);
    kills.forEach(clearTimeout);
    const sendS = (now() - started) / 1000;
    const expected = total * receivers;

    const ask = (c, msg, key) =>
      new Promise((resolve) => {
        const on = (m) => {
          if (m && m[key] !== undefined) {
            c.off('message', on);
            resolve(m);
          }
        };
        c.on('message', on);
        c.send(msg);
      });
    const countAll = async () => (await Promise.all(children.map((c) => ask(c, 'count', 'count')))).reduce((a, m) => a + m.count, 0);
    // Drain: until everything arrived, or nothing new arrived for 5 s, bounded at 60 s.
    const drainUntil = Date.now() + 60000;
    let delivered = 0;
    let lastCount = -1;
    let stableSince = Date.now();
    while (Date.now() < drainUntil && Date.now() - stableSince < 5000) {
      delivered = await countAll();
      if (delivered >= expected) break;
      if (delivered !== lastCount) {
        lastCount = delivered;
        stableSince = Date.now();
      }
      await sleep(500);
    }
    clearInterval(rssTimer);
    sampleRss();
    const elapsed = (now() - started) / 1000;
    const alive = servers.every((s) => s.child.exitCode === null && !s.child.signalCode);
    const cpu = servers.map((s, i) => (alive ? (procStat(s.child.pid).cpuMs - cpuBefore[i]) / 1000 / elapsed : NaN));
    // Time runnable but waiting for a core (other processes had it): CPU + this ≈ 1 means CPU-bound.
    const runWait = servers.map((s, i) => (alive ? (runQueueWaitMs(s.child.pid) - waitBefore[i]) / 1000 / elapsed : NaN));
    const childCpu = children.map((c, i) => (procStat(c.pid).cpuMs - childCpuBefore[i]) / 1000 / elapsed);
    const pubUsage = process.cpuUsage(pubCpuBefore);
    const metrics = { shed: 0, gapsFilled: 0, gapsLost: 0 };
    if (kind === 'ours') {
      for (const s of servers) {
        try {
          const m = await (await fetch(`${s.url}/metrics`)).text();
          for (const line of m.split('\n')) {
            const v = Number(line.split(' ').pop());
            if (line.startsWith('realtime_shed_total')) metrics.shed += v;
            if (line.startsWith('realtime_channel_gaps_total{result="filled"}')) metrics.gapsFilled += v;
            if (line.startsWith('realtime_channel_gaps_total{result="lost"}')) metrics.gapsLost += v;
          }
        } catch {
          // the process may be gone by now; its counters are simply not added
        }
      }
    }
    await watchSubs();
    const subscriberReconnects = subIds.size - subsBefore;

    // Per receiver: what arrived, against what was published.
    const reports = await Promise.all(children.map((c) => ask(c, 'report', 'receivers')));
    const hist = new Map();
    for (const r of reports) for (const [ms, n] of r.hist) hist.set(ms, (hist.get(ms) ?? 0) + n);
    const all = reports.flatMap((r) => r.receivers);
    let got = 0;
    let holes = 0;
    let tail = 0;
    let toldToRefetch = 0;
    let refetches = 0;
    let disconnects = 0;
    let reconnects = 0;
    let recovered = 0;
    let receiversWithHoles = 0;
    let duplicates = 0;
    for (const r of all) {
      const bits = Buffer.from(r.got, 'base64');
      const has = (seq) => (bits[seq >> 3] >> (seq & 7)) & 1;
      got += r.count;
      duplicates += r.duplicates;
      if (r.refetches) toldToRefetch++;
      refetches += r.refetches;
      disconnects += r.disconnects;
      reconnects += r.reconnects;
      recovered += r.recovered;
      // Events published after the last `recovered: false` (whose state the refetch does not cover) must
      // all arrive: missing below the newest one received = a hole (lost); above it = the tail.
      const after = r.lastRefetchOffset ?? -1;
      let maxId = 0;
      for (let seq = 1; seq <= total; seq++) if (has(seq) && idOf[seq] > maxId) maxId = idOf[seq];
      let h0 = 0;
      for (let seq = 1; seq <= total; seq++) {
        if (has(seq) || !(idOf[seq] > after)) continue;
        if (idOf[seq] < maxId) h0++;
        else tail++;
      }
      holes += h0;
      if (h0) receiversWithHoles++;
    }
    const p = (q) => {
      const n = [...hist.values()].reduce((a, b) => a + b, 0);
      let acc = 0;
      for (const ms of [...hist.keys()].sort((a, b) => a - b)) {
        acc += hist.get(ms);
        if (acc > (q / 100) * n) return ms;
      }
      return NaN;
    };
    const row = {
      part: 'c',
      server: kind,
      receivers,
      procs,
      rate,
      slow,
      sent: total - failed,
      sendS: +sendS.toFixed(1),
      expected,
      delivered: got,
      ratio: +(got / expected).toFixed(4),
      deliveriesPerS: Math.round(delivered / elapsed),
      p50ms: p(50),
      p99ms: p(99),
      serverCpu: cpu.map((c) => +c.toFixed(2)),
      serverRunWait: runWait.map((c) => +c.toFixed(2)),
      peakRssMb: peakRssKb.map((k) => Math.round(k / 1024)),
      receiverCpu: childCpu.map((c) => +c.toFixed(2)),
      publisherCpu: +((pubUsage.user + pubUsage.system) / 1e6 / elapsed).toFixed(2),
      alive,
      shed: kind === 'ours' ? metrics.shed : '-',
      disconnects,
      reconnects,
      recovered,
      gapsFilled: kind === 'ours' ? metrics.gapsFilled : '-',
      gapsLost: kind === 'ours' ? metrics.gapsLost : '-',
      subscriberReconnects,
      toldToRefetch,
      refetches,
      holes,
      receiversWithHoles,
      tail,
      duplicates,
    };
    console.log(JSON.stringify(row));
    return row;
  } finally {
    for (const c of children) if (c.exitCode === null && !c.signalCode) c.kill('SIGTERM');
    if (restoreLimit !== null) await redis.config('SET', 'client-output-buffer-limit', restoreLimit).catch(() => undefined);
    await redis.quit();
    await watcher.quit();
    await sleep(500);
    for (const s of servers) await stop(s);
  }
};

/** /proc/<pid>/schedstat, second field: ns spent runnable but waiting on a run queue (all threads of the main one). */
function runQueueWaitMs(pid) {
  try {
    return Number(require('node:fs').readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return NaN;
  }
}
