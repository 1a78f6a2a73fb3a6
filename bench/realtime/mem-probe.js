// Preloaded (`node -r bench/realtime/mem-probe.js`) into BOTH servers of the realtime benchmark, the
// same way, and (through NODE_OPTIONS) into every api and worker process of the soak drill: it changes
// nothing until it receives SIGUSR2. On SIGUSR2 it writes process.memoryUsage() and V8's heap spaces,
// then asks V8 for a full garbage collection and writes the same again. This lets run.js and the soak
// report memory after the same explicit GC request (besides RSS at a fixed time, which they keep reporting).
// Where it writes:
// - MEM_PROBE_FILE: that one file (one process per file: the realtime benchmark);
// - MEM_PROBE_DIR: `<dir>/<pid>-<n>.json` for the n-th request of this process (many processes, many
//   requests: the soak), and with MEM_PROBE_HEAP_SNAPSHOT=1 also `<dir>/<pid>-<n>.heapsnapshot`, written
//   after the GC (it blocks the process for seconds: diagnosis only).
// MEM_PROBE_SMAPS=1 adds `smaps` to each sample: RSS by kind of mapping (bench/scale/rss-breakdown.js),
// beside V8's physical pages (v8Physical), so that RSS outside the JS heap can be attributed.
const { renameSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const file = process.env.MEM_PROBE_FILE;
const dir = process.env.MEM_PROBE_DIR;
const snapshots = process.env.MEM_PROBE_HEAP_SNAPSHOT === '1';
let requests = 0;

const withSmaps = process.env.MEM_PROBE_SMAPS === '1';
const { smaps } = require('../scale/rss-breakdown');

function sample() {
  const m = process.memoryUsage();
  const spaces = {};
  let v8Physical = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
    v8Physical += s.physical_space_size;
  }
  const base = { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, v8Physical, spaces };
  return withSmaps ? { ...base, smaps: smaps() } : base;
}

function writeWhole(target, text) {
  writeFileSync(`${target}.tmp`, text);
  renameSync(`${target}.tmp`, target); // whole, or not there yet
}

if (file || dir) {
  process.on('SIGUSR2', () => {
    const n = ++requests;
    const before = sample();
    // --expose-gc only makes global.gc callable (in a fresh context); it does not change how V8 collects.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    gc();
    // A second pass frees what the first one's finalizers (weak references) released.
    setTimeout(() => {
      gc();
      setTimeout(() => {
        const after = sample();
        if (file) return writeWhole(file, JSON.stringify({ before, after }));
        const base = path.join(dir, `${process.pid}-${n}`);
        let snapshot = null;
        if (snapshots) {
          const t0 = Date.now();
          snapshot = { file: v8.writeHeapSnapshot(`${base}.heapsnapshot`), ms: Date.now() - t0 };
        }
        writeWhole(`${base}.json`, JSON.stringify({ pid: process.pid, n, before, after, snapshot }));
      }, 200);
    }, 100);
  });
}
