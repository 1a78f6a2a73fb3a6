import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

export const DOT_ENV = '.env';

/**
 * The variables of the process environment over those of a `.env` file in the working directory,
 * as Laravel and Nest's ConfigModule read them: a value set in the environment always wins, so
 * Supervisor's, systemd's or the container's settings override the file. Node's own parser
 * (`util.parseEnv`, the `--env-file` syntax: KEY=value, quotes, # comments).
 *
 * Not under NODE_ENV=test: a developer's `.env` must not change what the test suites test.
 */
export function withDotEnv(env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  if (env.NODE_ENV === 'test') return env;
  const file = join(cwd, DOT_ENV);
  if (!existsSync(file)) return env;
  const fromFile = parseEnv(readFileSync(file, 'utf8')) as NodeJS.ProcessEnv;
  return { ...fromFile, ...definedOnly(env) };
}

function definedOnly(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
