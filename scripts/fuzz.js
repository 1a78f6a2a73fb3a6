// @ts-check
// npm run fuzz -- [--runs=N] [--seed=S] [--path=P]: the fuzz suite of `npm test` (test/e2e/fuzz.e2e-spec.ts),
// longer or with another seed. --runs counts HTTP requests and socket frames each (default 10000, as in npm test);
// --seed and --path replay a failure exactly as the failing run printed them.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const USAGE = 'usage: npm run fuzz -- [--runs=N] [--seed=S] [--path=P]';

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {Record<string, string>} */
  const env = {};
  for (const arg of argv) {
    const m = /^--(runs|seed|path)=(.+)$/.exec(arg);
    if (!m) throw new Error(`unknown option ${arg} (${USAGE})`);
    const [, name, value] = m;
    if (name === 'runs' && !(/^\d+$/.test(value) && Number(value) >= 8)) throw new Error('--runs takes a whole number of at least 8');
    if (name === 'seed' && !/^-?\d+$/.test(value)) throw new Error('--seed takes a whole number');
    if (name === 'path' && !/^\d+(:\d+)*$/.test(value)) throw new Error('--path takes the path a failing run printed (e.g. 48 or 48:0:1)');
    env[`FUZZ_${name.toUpperCase()}`] = value;
  }
  return env;
}

try {
  const env = parseArgs(process.argv.slice(2));
  const r = spawnSync(process.execPath, [join(__dirname, 'test.js'), 'test/e2e/fuzz'], { stdio: 'inherit', env: { ...process.env, ...env } });
  process.exit(r.status ?? 1);
} catch (err) {
  console.error(`[switchboard] ${/** @type {Error} */ (err).message}`);
  process.exit(2);
}
