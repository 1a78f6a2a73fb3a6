// @ts-check
'use strict';
/**
 * The machine packages the test suites use besides MariaDB and Redis (which scripts/stack.js
 * installs): nginx and supervisor (cluster mode), Chromium (the /status page in a real browser),
 * Python's Socket.IO client (the Python client guide). `npm test` installs the missing ones once,
 * before any suite runs, with apt-get when it is root on Debian/Ubuntu — one `apt-get update` and
 * one `apt-get install` — so no suite installs anything as a side effect and a fresh machine passes
 * whatever order the suites run in. Without root or apt it stops with one message naming the
 * packages.
 */
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const stack = require('./stack');

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * @typedef {{ what: string, debian: string[], present: () => boolean }} Prerequisite
 */

/** @type {Prerequisite[]} */
const TEST_PREREQUISITES = [
  { what: 'nginx', debian: ['nginx'], present: () => !!stack.which(['nginx']) },
  { what: 'supervisor', debian: ['supervisor'], present: () => !!stack.which(['supervisord']) && !!stack.which(['supervisorctl']) },
  { what: 'Chromium', debian: ['chromium'], present: () => ['/usr/bin/chromium', '/usr/bin/chromium-browser'].some((p) => existsSync(p)) },
  {
    what: "Python's Socket.IO client",
    debian: ['python3-socketio', 'python3-websocket'],
    present: () => existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import socketio, websocket'], { stdio: 'ignore' }).status === 0,
  },
];

/**
 * Installs what is missing of `wanted`; returns the names that were installed.
 * @param {Prerequisite[]} wanted
 * @param {(m: string) => void} log
 */
function ensurePrerequisites(wanted, log) {
  const missing = wanted.filter((p) => !p.present());
  if (!missing.length) return [];
  const packages = missing.flatMap((p) => p.debian);
  const names = missing.map((p) => p.what).join(', ');
  if (!(IS_ROOT && existsSync('/usr/bin/apt-get'))) {
    throw new Error(`missing ${names}: install the Debian packages ${packages.join(' ')} (or run as root on Debian/Ubuntu, where this is done for you)`);
  }
  log(`missing ${names}: installing ${packages.join(' ')} with apt-get (once)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...packages]]) {
    const r = spawnSync('/usr/bin/apt-get', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} exited with ${r.status}; install ${packages.join(' ')} by hand`);
  }
  const still = missing.filter((p) => !p.present()).map((p) => p.what);
  if (still.length) throw new Error(`still missing after apt-get: ${still.join(', ')}`);
  return missing.map((p) => p.what);
}

module.exports = { TEST_PREREQUISITES, ensurePrerequisites };
