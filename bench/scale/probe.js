// @ts-check
'use strict';
// Preloaded into every api process of bench:scale, ours and stock alike
// (NODE_OPTIONS=--require bench/scale/probe.js, set only in the benchmark's cluster environment).
// It changes nothing until asked: it listens on a unix socket SCALE_PROBE_DIR/<pid>.sock and answers
// one JSON line per command:
//   lag   event-loop delay since the last `lag` (p50/p99/max ms, perf_hooks histogram), memory, CPU
//   gc    the same explicit GC request as bench/realtime/mem-probe.js (part a): memory before and after
//   profile-start          V8's sampling CPU profiler on (node:inspector; bench/scale/setup-cost.js --cpu-prof)
//   profile-stop <file>    profiler off, the profile written to <file> (.cpuprofile, as node --cpu-prof writes)
//   alloc-start            count the bytes the JS heap allocates from now (v8.GCProfiler: heap used before each
//                          GC minus after the previous one), and the GCs' own time
//   alloc-stop             the count since alloc-start: bytes, GCs by type, GC µs
//   heap-sample-start [B]  V8's sampling heap profiler on, one sample per B bytes allocated (default 1024),
//                          counting objects a GC has since collected (bench/scale/setup-cost.js --alloc-prof)
//   heap-sample-stop <file> sampling off, the profile written to <file> (.heapprofile, Chrome DevTools)
// The histogram's own cost (a 10 ms timer) is the same in both servers.
const net = require('node:net');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const dir = process.env.SCALE_PROBE_DIR;
// Only the api processes: workers and CLI commands inherit NODE_OPTIONS too.
const isApi = /(dist\/main|stock-server)\.js$/.test(process.argv[1] ?? '');

if (dir && isApi) {
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  let cpuBefore = process.cpuUsage();
  let since = Date.now();
  const { smaps, v8Pages } = require('./rss-breakdown');
  const memory = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers };
  };
  // After a GC request: also where the RSS is (V8's pages per space, malloc's arenas), see rss-breakdown.js.
  const memoryInDetail = () => ({ ...memory(), v8: v8Pages(), smaps: smaps() });
  const ms = (ns) => +(ns / 1e6).toFixed(2);
  /** @type {Record<string, (arg?: string) => Promise<object>>} */
  const commands = {
    lag: async () => {
      const cpu = process.cpuUsage(cpuBefore);
      const seconds = (Date.now() - since) / 1000;
      const r = { pid: process.pid, seconds, lagP50: ms(eld.percentile(50)), lagP99: ms(eld.percentile(99)), lagMax: ms(eld.max), cpu: +((cpu.user + cpu.system) / 1e6 / seconds).toFixed(3), memory: memory() };
      eld.reset();
      cpuBefore = process.cpuUsage();
      since = Date.now();
      return r;
    },
    gc: () =>
      new Promise((resolve) => {
        const before = memory();
        // --expose-gc only makes gc callable (in a fresh context); it does not change how V8 collects.
        v8.setFlagsFromString('--expose-gc');
        const gc = vm.runInNewContext('gc');
        gc();
        // A second pass frees what the first one's finalizers (weak references) released.
        setTimeout(() => {
          gc();
          setTimeout(() => resolve({ pid: process.pid, before, after: memoryInDetail() }), 200);
        }, 100);
      }),
  };
  /**
   * `<name>-start` / `<name>-stop`: a node:inspector session of its own (the CPU profiler and the heap
   * sampler can run at once), started by `start(post, arg)`; stop asks `stopMethod` for the profile and
   * writes it to the file given.
   * @param {string} name @param {string} what
   * @param {(post: (method: string, params?: object) => Promise<any>, arg?: string) => Promise<unknown>} start
   * @param {string} stopMethod
   */
  const sessionCommands = (name, what, start, stopMethod) => {
    /** @type {import('node:inspector').Session | null} */
    let session = null;
    const post = (/** @type {string} */ method, params = {}) =>
      new Promise((resolve, reject) => {
        if (!session) return reject(new Error(`the ${what} is not running`));
        session.post(method, params, (err, r) => (err ? reject(err) : resolve(r)));
      });
    commands[`${name}-start`] = async (arg) => {
      if (session) throw new Error(`the ${what} is already running`);
      session = new (require('node:inspector').Session)();
      session.connect();
      await start(post, arg);
      return { pid: process.pid, [name]: 'started' };
    };
    commands[`${name}-stop`] = async (file) => {
      if (!file) throw new Error(`${name}-stop needs a file`);
      const { profile } = /** @type {{ profile: object }} */ (await post(stopMethod));
      session?.disconnect();
      session = null;
      writeFileSync(file, JSON.stringify(profile));
      return { pid: process.pid, file };
    };
  };
  sessionCommands(
    'profile',
    'profiler',
    async (post) => {
      await post('Profiler.enable');
      // 0.5 ms: enough samples per socket at a few ms each, at a few percent of overhead.
      await post('Profiler.setSamplingInterval', { interval: 500 });
      await post('Profiler.start');
    },
    'Profiler.stop',
  );
  /** @type {{ gc: import('node:v8').GCProfiler, used0: number } | null} */
  let allocCount = null;
  commands['alloc-start'] = async () => {
    if (allocCount) throw new Error('already counting allocations');
    const gc = new v8.GCProfiler();
    const used0 = v8.getHeapStatistics().used_heap_size;
    gc.start();
    allocCount = { gc, used0 };
    return { pid: process.pid, counting: true };
  };
  commands['alloc-stop'] = async () => {
    if (!allocCount) throw new Error('not counting allocations');
    const { gc, used0 } = allocCount;
    allocCount = null;
    const data = gc.stop();
    // Whatever the heap grew by between two GCs was allocated in between; what a GC freed is not.
    let bytes = 0;
    let last = used0;
    let gcUs = 0;
    /** @type {Record<string, number>} */
    const gcs = {};
    for (const s of data.statistics) {
      bytes += s.beforeGC.heapStatistics.usedHeapSize - last;
      last = s.afterGC.heapStatistics.usedHeapSize;
      gcUs += s.cost;
      gcs[s.gcType] = (gcs[s.gcType] ?? 0) + 1;
    }
    bytes += v8.getHeapStatistics().used_heap_size - last;
    const newSpace = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    return { pid: process.pid, bytes, gcUs: Math.round(gcUs), gcs, newSpaceBytes: newSpace?.physical_space_size ?? 0 };
  };
  sessionCommands(
    'heap-sample',
    'heap sampler',
    // Collected objects too: the churn, not what survives, is what a socket's set-up costs the GC.
    (post, interval) => post('HeapProfiler.startSampling', { samplingInterval: Number(interval || 1024), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }),
    'HeapProfiler.stopSampling',
  );
  const path = join(dir, `${process.pid}.sock`);
  rmSync(path, { force: true });
  const server = net.createServer((conn) => {
    let buf = '';
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const [name, arg] = buf.slice(0, nl).trim().split(/ (.*)/s);
      const cmd = commands[name];
      buf = '';
      if (!cmd) return void conn.end('{"error":"unknown command"}\n');
      cmd(arg).then((r) => conn.end(`${JSON.stringify(r)}\n`), (err) => conn.end(`${JSON.stringify({ error: String(err) })}\n`));
    });
  });
  server.on('error', () => undefined); // the probe never takes the process down
  server.listen(path);
  server.unref();
  process.on('exit', () => rmSync(path, { force: true }));
}
