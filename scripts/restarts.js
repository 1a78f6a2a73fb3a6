// @ts-check
// When `npm run up` restarts a process that exited on its own (as Supervisor's autorestart does in
// cluster mode): at once the first time, then with a growing pause; a process that keeps dying is
// given up on, and up.js stops the stack saying so, instead of restarting it forever.

const WINDOW_MS = 60_000;
const MAX_IN_WINDOW = 5;

/**
 * @param {number[]} exits times of this process's earlier unexpected exits (kept by the caller)
 * @param {number} now
 * @returns {{ restart: true, delayMs: number, recent: number } | { restart: false, recent: number }}
 */
function nextRestart(exits, now) {
  const recent = exits.filter((t) => now - t < WINDOW_MS).length + 1;
  if (recent > MAX_IN_WINDOW) return { restart: false, recent };
  return { restart: true, delayMs: Math.min(10_000, 500 * 2 ** (recent - 1)) - 500, recent };
}

module.exports = { nextRestart, WINDOW_MS, MAX_IN_WINDOW };
