// @ts-check
'use strict';
// The local stack's own SESSION_SECRET and JWT_SECRET: made once with the first `npm run up` or
// `npm test`, kept in .stack/secrets.json (git-ignored, mode 0600) and handed to every process the
// project starts, so no running process ever accepts a value published in the source.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const NAMES = /** @type {const} */ (['SESSION_SECRET', 'JWT_SECRET']);

/** @param {unknown} v */
const usable = (v) => typeof v === 'string' && v.length >= 32;

/**
 * @param {string} root the repository root
 * @returns {{ SESSION_SECRET: string, JWT_SECRET: string }}
 */
function localSecrets(root) {
  const dir = path.join(root, '.stack');
  const file = path.join(dir, 'secrets.json');
  /** @returns {{ SESSION_SECRET: string, JWT_SECRET: string } | null} */
  const read = () => {
    try {
      const s = JSON.parse(fs.readFileSync(file, 'utf8'));
      return s && NAMES.every((n) => usable(s[n])) ? s : null;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') return null;
      throw new Error(`${file} is unreadable (${/** @type {Error} */ (err).message}); delete it to make new secrets (everyone is logged out)`);
    }
  };
  const existing = read();
  if (existing) return existing;
  fs.mkdirSync(dir, { recursive: true });
  const made = { SESSION_SECRET: crypto.randomBytes(32).toString('hex'), JWT_SECRET: crypto.randomBytes(32).toString('hex') };
  try {
    // wx: when two first runs race, the first file wins and both use it.
    fs.writeFileSync(file, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return made;
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    const raced = read();
    if (!raced) throw new Error(`${file} is incomplete; delete it to make new secrets`);
    return raced;
  }
}

/**
 * The secrets to add to a child's environment: the stack's own, except for
 * any the operator set.
 * @param {string} root
 * @param {NodeJS.ProcessEnv} [given]
 * @returns {Record<string, string>}
 */
function secretsEnv(root, given = process.env) {
  if (NAMES.every((n) => given[n])) return {};
  const own = localSecrets(root);
  /** @type {Record<string, string>} */
  const env = {};
  for (const n of NAMES) if (!given[n]) env[n] = own[n];
  return env;
}

module.exports = { localSecrets, secretsEnv };
