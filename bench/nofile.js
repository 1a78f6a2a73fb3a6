// The open-file limit of the benchmarks that hold many sockets (bench:scale, bench:realtime): read it, and
// run the benchmark again with it raised when it is too low and this user may raise it.
'use strict';
const { readFileSync } = require('node:fs');
const { spawnSync } = require('node:child_process');

/** This process's hard limit on open files (Infinity when unlimited). */
function hardNofile() {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === 'unlimited' ? Infinity : Number(hard);
}

/**
 * Runs `script` again (same node, same arguments) under `ulimit -n need` (soft and hard), so that it and every
 * process it starts inherit the limit, and exits with its status; false (the caller goes on) when the limit is
 * already enough, was raised already, or this user may not raise it (`log` says so).
 */
function relaunchWithNofile(need, script, log) {
  if (hardNofile() >= need || process.env.SWITCHBOARD_NOFILE_RAISED) return false;
  if (spawnSync('/bin/sh', ['-c', `ulimit -n ${need}`]).status !== 0) {
    log(`open-file limit ${hardNofile()} (hard) and not allowed to raise it to ${need}: every process stays within ${hardNofile()}`);
    return false;
  }
  const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${need} && exec "$0" "$@"`, process.execPath, script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, SWITCHBOARD_NOFILE_RAISED: '1' },
  });
  process.exit(r.status ?? 1);
}

module.exports = { hardNofile, relaunchWithNofile };
