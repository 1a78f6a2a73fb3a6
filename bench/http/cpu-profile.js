// Preloaded (`node -r`) into a benchmarked process when BENCH_CPU_PROF=1: profiles the whole process with
// the in-process inspector and writes a .cpuprofile on SIGUSR2 (Nest's SIGTERM hook re-raises the signal,
// so --cpu-prof would never get to write its file). Open the file in Chrome DevTools or speedscope.
'use strict';
const { Session } = require('node:inspector');
const { renameSync, writeFileSync } = require('node:fs');

const file = process.env.BENCH_CPU_PROF_FILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
