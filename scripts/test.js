// npm test: install, build, start (or reuse) the test stack, migrate, run unit + end-to-end tests.
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { ensure } = require('./ensure');
const { relaunchOnRequiredNode } = require('./runtime');
const { ensurePrerequisites, TEST_PREREQUISITES } = require('./prerequisites');

async function main() {
  ensure();
  if (relaunchOnRequiredNode(__filename)) return;
  const stack = require('./stack');
  // Before any suite: nginx, supervisor, Chromium, Python's Socket.IO client (apt-get once when root).
  ensurePrerequisites(TEST_PREREQUISITES, (m) => console.error(`[switchboard] ${m}`));
  const { services, migrate, root } = require('./services');
  const stackName = process.env.SWITCHBOARD_TEST_STACK || 'test';
  const { env, own } = await services(stackName);
  migrate(env);
  const args = [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', ...process.argv.slice(2)];
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env, SWITCHBOARD_STACK: own ? stackName : '', NODE_ENV: 'test' },
  });
  if (own && !process.env.KEEP_STACK) await stack.down(stackName);
  process.exit(r.status ?? 1);
}

main().catch((err) => {
  console.error(`[switchboard] ${err.message}`);
  process.exit(1);
});
