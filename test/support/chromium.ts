import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const HINT = 'the /status page test runs the Debian Chromium: apt-get install -y chromium';

/** Chromium's path (npm test installs it before the suites run: scripts/prerequisites.js). */
export function chromiumPath(): Promise<string> {
  const path = CANDIDATES.find((p) => existsSync(p));
  return path ? Promise.resolve(path) : Promise.reject(new Error(HINT));
}
