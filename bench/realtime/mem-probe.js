// Preloaded (`node -r bench/realtime/mem-probe.js`) into BOTH servers of the realtime benchmark, the
// same way: it changes nothing until it receives SIGUSR2. On SIGUSR2 it writes, to MEM_PROBE_FILE,
// process.memoryUsage() and V8's heap spaces, then asks V8 for a full garbage collection and writes
// the same again. This lets run.js report memory after the same explicit GC request for both servers
// (besides RSS at a fixed time after the last connect, which it keeps reporting).
const { renameSync, writeFileSync } = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');

const file = process.env.MEM_PROBE_FILE;

function sample() {
  const m = process.memoryUsage();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size };
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces };
}

if (file) {
  process.on('SIGUSR2', () => {
    const before = sample();
    // --expose-gc only makes global.gc callable (in a fresh context); it does not change how V8 collects.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    gc();
    // A second pass frees what the first one's finalizers (weak references) released.
    setTimeout(() => {
      gc();
      setTimeout(() => {
        writeFileSync(`${file}.tmp`, JSON.stringify({ before, after: sample() }));
        renameSync(`${file}.tmp`, file); // whole, or not there yet
      }, 200);
    }, 100);
  });
}
