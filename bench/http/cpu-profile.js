// Preloaded (`node -r`) into a benchmarked process when BENCH_CPU_PROF=1: profiles the whole process with
// the in-process inspector and writes a .cpuprofile on SIGUSR2 (Nest's SIGTERM hook re-raises the signal,
// so --cpu-prof would never get to write its file). Open the file in Chrome DevTools or speedscope.
'use strict';
const { Session } = require('node:inspector');
const { renameSync, writeFileSync } = require('node:fs');

const file = process.env.BENCH_CPU_PROF_FILE;
// BENCH_CPU_PROF_WINDOW=1 (bench/queues): the first SIGUSR2 starts the profiler, the second writes the file,
// so the profile holds the measured window only (no start-up, no idle tail).
const windowed = process.env.BENCH_CPU_PROF_WINDOW === '1';
if (file) {
  const session = new Session();
  session.connect();
  const start = () => session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
  let started = !windowed;
  if (started) start();
  process.on('SIGUSR2', () => {
    if (!started) {
      started = true;
      start();
      return;
    }
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      writeFileSync(`${file}.tmp`, JSON.stringify(result.profile));
      renameSync(`${file}.tmp`, file);
    });
  });
}
