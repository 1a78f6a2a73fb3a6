// @ts-check
'use strict';
/**
 * CPU per job holds on a shared machine where wall-clock rates do not (a run queue of other work stretches
 * both sides' drains unevenly): user + system time from /proc/<pid>/stat, in clock ticks.
 */
const { execFileSync } = require('node:child_process');
const { readdirSync, readFileSync } = require('node:fs');

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** utime + stime of a process and all its descendants (bin/switchboard may relaunch itself on the required Node), in µs; 0 once gone. */
function treeCpuUs(/** @type {number} */ pid) {
  let us = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    us += (Number(fields[11]) + Number(fields[12])) * TICK_US;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) us += treeCpuUs(Number(child));
    }
  } catch {
    /* exited meanwhile */
  }
  return us;
}

module.exports = { treeCpuUs };
