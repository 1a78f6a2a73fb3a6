#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * npm run drill -- <name> [--clients=N] [--duration=S] [--rate=R] [--rounds=K]
 *
 * Starts the production topology (nginx, 3 api processes, 2 workers under supervisord, MariaDB
 * replication, Redis), puts the load on it (drills/lib/load.js), runs the named fault
 * (drills/faults/<name>.js), prints one JSON line with the figures and exits 1 when a guarantee
 * was broken (2 when the drill itself could not run).
 */
const path = require('node:path');
const { ensure } = require(path.join(__dirname, '..', 'scripts', 'ensure.js'));
const { relaunchOnRequiredNode } = require(path.join(__dirname, '..', 'scripts', 'runtime.js'));

const DRILLS = ['rolling-deploy', 'api-kill', 'worker-deploy', 'partition', 'soak', 'replica-lag'];

function parseArgs(argv) {
  const [name, ...rest] = argv;
  if (!name || !DRILLS.includes(name)) throw new Error(`usage: npm run drill -- <${DRILLS.join('|')}> [--clients=N] [--duration=S] [--rate=R] [--rounds=K]`);
  /** @type {Record<string, number>} */
  const opts = {};
  for (const a of rest) {
    const m = /^--(clients|duration|rate|rounds|jobs)=(\d+)$/.exec(a);
    if (!m) throw new Error(`unknown or malformed option ${a}`);
    opts[m[1]] = Number(m[2]);
  }
  return { name, opts };
}

async function main() {
  const { name, opts } = parseArgs(process.argv.slice(2));
  ensure();
  if (relaunchOnRequiredNode(__filename)) return;
  const { runDrill } = require('./lib/drill');
  const result = await runDrill(name, opts, (m) => process.stderr.write(`[drill ${name}] ${m}\n`));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(result.passed ? 0 : 1);
}

main().catch((err) => {
  process.stderr.write(`[drill] ${err.stack ?? err.message}\n`);
  process.exit(2);
});
