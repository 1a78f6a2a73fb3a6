// @ts-check
'use strict';
/** What bench:scale (run.js) and bench:setup (setup-cost.js) both need: waiting, the probe client, the load average. */
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const now = () => performance.timeOrigin + performance.now();
/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns something truthy; throws after `timeoutMs`.
 * @template T
 * @param {string} what
 * @param {() => Promise<T> | T} fn
 * @param {number} timeoutMs
 */
async function waitFor(what, fn, timeoutMs, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

/**
 * One command to probe.js in the api process `pid` (its socket in `dir`); rejects on the probe's own error.
 * @param {string} dir
 * @param {number} pid
 * @param {string} cmd
 * @returns {Promise<any>}
 */
function probe(dir, pid, cmd, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const c = net.connect(path.join(dir, `${pid}.sock`));
    let buf = '';
    const t = setTimeout(() => (c.destroy(), reject(new Error(`probe ${pid} ${cmd}: no answer`))), timeoutMs);
    c.on('connect', () => c.write(`${cmd}\n`));
    c.on('data', (d) => (buf += d.toString()));
    c.on('end', () => {
      clearTimeout(t);
      try {
        const r = JSON.parse(buf);
        if (r.error) reject(new Error(`probe ${pid} ${cmd}: ${r.error}`));
        else resolve(r);
      } catch (e) {
        reject(e);
      }
    });
    c.on('error', (e) => (clearTimeout(t), reject(e)));
  });
}

function loadAvg() {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/**
 * `--key=value` and `--flag` options, each of `known` (anything else is refused with the list); `num(key, default,
 * min)` reads one as a number. `Err`: the error class a bad option throws (a usage error prints its message only).
 */
function parseOptions(argv, known, Err = Error) {
  /** @type {Record<string, string>} */
  const a = {};
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m || !known.includes(m[1])) throw new Err(`unknown option ${arg} (options: ${known.map((k) => `--${k}`).join(' ')})`);
    a[m[1]] = m[2] ?? 'true';
  }
  /** @type {(k: string, d: number, min?: number) => number} */
  const num = (k, d, min = 1) => {
    const v = a[k] === undefined ? d : Number(a[k]);
    if (!Number.isFinite(v) || v < min) throw new Err(`--${k} must be a number >= ${min}`);
    return v;
  };
  return { a, num };
}

const ROOT = path.join(__dirname, '..', '..');

/** Dependencies and dist/ in place, on the project's Node: false when this process relaunched itself on it (return then). */
function onRequiredNode(/** @type {string} */ filename) {
  require(path.join(ROOT, 'scripts', 'ensure.js')).ensure();
  return !require(path.join(ROOT, 'scripts', 'runtime.js')).relaunchOnRequiredNode(filename);
}

/** The stack `stack` up and migrated, the fixtures of an earlier run gone: its environment. */
async function freshStack(/** @type {string} */ stack, /** @type {(m: string) => void} */ log) {
  const { services, migrate } = require(path.join(ROOT, 'scripts', 'services.js'));
  const { env } = await services(stack, log);
  migrate(env);
  await require('./fixtures').cleanup(env, log);
  return env;
}

/** A heading, then each [caption, rows] as a captioned table: the benches' profile summaries. */
function printTables(/** @type {string} */ heading, /** @type {[string, unknown][]} */ sections) {
  console.log(`\n${heading}`);
  for (const [caption, rows] of sections) {
    console.log(caption);
    console.table(rows);
  }
}

module.exports = { now, sleep, waitFor, probe, loadAvg, parseOptions, onRequiredNode, freshStack, printTables };
