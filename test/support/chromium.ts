import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const HINT = 'the /status page test runs the Debian Chromium: apt-get install -y chromium';

function aptGet(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/apt-get', args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get ${args.join(' ')} exited with ${code}: ${err}\n${HINT}`))));
  });
}

/** Chromium's path; installed with apt-get when missing and we are root (as the stack installs MariaDB and Redis). */
export async function chromiumPath(): Promise<string> {
  const found = () => CANDIDATES.find((p) => existsSync(p));
  if (found()) return found() as string;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) throw new Error(HINT);
  process.stderr.write('[switchboard] Chromium missing: installing it with apt-get (once)\n');
  await aptGet(['update']);
  await aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
  const path = found();
  if (!path) throw new Error(`still no Chromium after apt-get\n${HINT}`);
  return path;
}
