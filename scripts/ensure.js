// @ts-check
// Installs npm dependencies when missing or stale and builds dist/ when the sources changed.
// Plain Node so it runs before anything is installed.
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const root = ROOT; // the checkout; ensureBuild takes another for its test

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

/** Every file under src/ by path: a deleted or renamed source changes it (mtimes alone do not show deletions). */
function sourceList(root) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else files.push(p.slice(root.length));
    }
  };
  walk(join(root, 'src'));
  return createHash('sha256').update(files.sort().join('\n')).digest('hex');
}

function ensureBuild(root = ROOT) {
  const built = mtime(join(root, 'dist', 'main.js'));
  const sources = Math.max(newest(join(root, 'src')), mtime(join(root, 'tsconfig.json')), mtime(join(root, 'tsconfig.build.json')));
  const listStamp = join(root, 'dist', '.sources-sha256');
  const list = sourceList(root);
  const sameFiles = existsSync(listStamp) && readFileSync(listStamp, 'utf8').trim() === list;
  if (built && built >= sources && sameFiles) return;
  // A source that was deleted or renamed must not live on in dist/ (a removed migration would still run).
  if (!sameFiles) rmSync(join(root, 'dist'), { recursive: true, force: true });
  console.error(sameFiles ? '[switchboard] building (tsc)' : '[switchboard] building dist/ from a clean slate (tsc)');
  if (!run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root })) {
    console.error('[switchboard] build failed');
    process.exit(1);
  }
  writeFileSync(listStamp, `${list}\n`);
}

function ensure() {
  ensureDependencies();
  ensureBuild();
}

module.exports = { ensure, ensureDependencies, ensureBuild, root };

if (require.main === module) ensure();
