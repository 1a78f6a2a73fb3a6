// Installs npm dependencies when missing or stale and builds dist/ when the sources changed.
// Plain Node so it runs before anything is installed.
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, readdirSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  return r.status === 0;
}

function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function newest(dir) {
  let latest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(p) : mtime(p));
  }
  return latest;
}

// The lockfile's content, not its mtime, decides: a fresh checkout (or a git worktree sharing
// node_modules) must not reinstall what is already there.
function lockHash() {
  return createHash('sha256').update(readFileSync(join(root, 'package-lock.json'))).digest('hex');
}

function ensureDependencies() {
  const stamp = join(root, 'node_modules', '.switchboard-lock-sha256');
  const want = lockHash();
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  console.error('[switchboard] installing npm dependencies (npm ci)');
  // npm ci refuses when optional binaries of other platforms trip it up; npm install with the lock is the fallback.
  if (!run('npm', ['ci', '--no-audit', '--no-fund'])) {
    console.error('[switchboard] npm ci failed, trying npm install with the lockfile');
    if (!run('npm', ['install', '--no-audit', '--no-fund'])) {
      console.error('[switchboard] could not install npm dependencies');
      process.exit(1);
    }
  }
  writeFileSync(stamp, `${want}\n`);
}

function ensureBuild() {
  const built = mtime(join(root, 'dist', 'main.js'));
  const sources = Math.max(newest(join(root, 'src')), mtime(join(root, 'tsconfig.json')), mtime(join(root, 'tsconfig.build.json')));
  if (built && built >= sources) return;
  console.error('[switchboard] building (tsc)');
  if (!run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'])) {
    console.error('[switchboard] build failed');
    process.exit(1);
  }
}

function ensure() {
  ensureDependencies();
  ensureBuild();
}

module.exports = { ensure, ensureDependencies, ensureBuild, root };

if (require.main === module) ensure();
