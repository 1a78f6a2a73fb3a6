#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * Stop a local stack started by scripts/stack.js (data is kept under .stack/NAME).
 *   node scripts/down.js              stop the 'dev' stack
 *   node scripts/down.js --stack=NAME stop stack NAME
 *   node scripts/down.js --all        stop every stack under .stack/
 */

const stack = require('./stack');

async function main(argv) {
  let name = 'dev';
  let all = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--stack=')) name = a.slice('--stack='.length);
    else if (a === '--stack') name = argv[++i];
    else if (a === '--all') all = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node scripts/down.js [--stack=NAME | --all]\n');
      return 0;
    } else {
      process.stderr.write(`unknown argument ${JSON.stringify(a)}\nusage: node scripts/down.js [--stack=NAME | --all]\n`);
      return 2;
    }
  }
  const log = (msg) => process.stderr.write(`${msg}\n`);
  // A cluster (npm run up -- --instances N) uses the stack: stop its supervisord first.
  // cluster.js is not type-checked yet: its contract, as this script uses it.
  const cluster = /** @type {{ stopRunning(o: { name?: string, log?: (m: string) => void }): Promise<string[]> }} */ (require('./cluster'));
  await cluster.stopRunning({ name: all ? undefined : name, log });
  if (all) {
    const names = await stack.downAll({ log });
    log(names.length ? `stopped stacks: ${names.join(', ')}` : 'no stacks under .stack/');
  } else {
    await stack.down(name, { log });
    log(`${name}: stopped`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${err && err.message ? err.message : err}\n`);
    process.exitCode = 1;
  },
);
