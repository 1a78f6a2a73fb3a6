#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * npm run drill -- <name> [--clients=N] [--duration=S] [--rate=R] [--rounds=K]
 * npm run drill -- soak [--clients=N] [--duration=S] [--heap-snapshots]
 * npm run drill -- redis-failover --topology=sentinel|cluster [--fault=kill|failover] [--jobs=PER_S]
 *
 * Starts the production topology (nginx, 3 api processes, 2 workers under supervisord, MariaDB
 * replication, Redis), puts the load on it (drills/lib/load.js), runs the named fault
 * (drills/faults/<name>.js), prints one JSON line with the figures and exits 1 when a guarantee
 * was broken (2 when the drill itself could not run).
 */
const path = require('node:path');
const { ensure } = require(path.join(__dirname, '..', 'scripts', 'ensure.js'));
const { relaunchOnRequiredNode } = require(path.join(__dirname, '..', 'scripts', 'runtime.js'));

const DRILLS = ['rolling-deploy', 'api-kill', 'worker-deploy', 'partition', 'soak', 'replica-lag', 'redis-failover'];

function parseArgs(argv) {
  const [name, ...rest] = argv;
  if (!name || !DRILLS.includes(name)) throw new Error(`usage: npm run drill -- <${DRILLS.join('|')}> [--clients=N] [--duration=S] [--rate=R] [--rounds=K] [--topology=sentinel|cluster] [--fault=kill|failover] [--heap-snapshots]`);
  /** @type {Record<string, number | string>} */
  const opts = {};
  for (const a of rest) {
    if (a === '--heap-snapshots') {
      if (name !== 'soak') throw new Error('--heap-snapshots is an option of the soak');
      opts.heapSnapshots = 'yes';
      continue;
    }
    const m = /^--(clients|duration|rate|rounds|jobs)=(\d+)$/.exec(a) ?? /^--(topology)=(single|sentinel|cluster)$/.exec(a) ?? /^--(fault)=(kill|failover)$/.exec(a);
    if (!m) throw new Error(`unknown or malformed option ${a}`);
    opts[m[1]] = /^\d+$/.test(m[2]) ? Number(m[2]) : m[2];
  }
  if (opts.fault === 'failover' && opts.topology !== 'sentinel') throw new Error('--fault=failover (SENTINEL FAILOVER) needs --topology=sentinel');
  return { name, opts };
}

async function main() {
  const { name, opts } = parseArgs(process.argv.slice(2));
  // The stack starts the Redis topology STACK_REDIS names (scripts/redis-topology.js); the relaunch keeps it.
  if (opts.topology) process.env.STACK_REDIS = String(opts.topology);
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
