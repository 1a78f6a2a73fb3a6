// @ts-check
'use strict';
/**
 * One drill run: topology up, the fault module's run(ctx), topology down. The fault module
 * returns { figures, guarantees: { name: boolean } }; the drill passed when every guarantee holds.
 */
const path = require('node:path');
const os = require('node:os');
const { startTopology } = require('./topology');

/**
 * @param {string} name
 * @param {Record<string, number | string>} opts
 * @param {(m: string) => void} log
 */
async function runDrill(name, opts, log) {
  const fault = require(path.join(__dirname, '..', 'faults', `${name}.js`));
  const startedAt = new Date();
  // A drill about replicas says how many it needs (the local stack's STACK_REPLICAS).
  if (fault.replicas && !process.env.STACK_REPLICAS) process.env.STACK_REPLICAS = String(fault.replicas);
  log(`starting the topology (nginx, 3 api, 2 workers under supervisord)`);
  // A fault module's env is the settings it needs on every process: an object, or a function of the options.
  const faultEnv = typeof fault.env === 'function' ? fault.env(opts) : (fault.env ?? {});
  const { cluster, env, stackName } = await startTopology({ log: (m) => log(m), env: faultEnv });
  let outcome;
  try {
    outcome = await fault.run({ cluster, env, stackName, opts, log });
  } finally {
    log('stopping the topology');
    await cluster.stop();
  }
  const failed = Object.entries(outcome.guarantees).filter(([, ok]) => !ok).map(([k]) => k);
  return {
    drill: name,
    passed: failed.length === 0,
    failed,
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    options: opts,
    ...outcome.figures,
    guarantees: outcome.guarantees,
  };
}

module.exports = { runDrill };
