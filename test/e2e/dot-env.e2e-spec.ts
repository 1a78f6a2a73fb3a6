import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiProcess, startApi } from '../support/api-process';

/** Operators keep their settings in `.env` as with Laravel: the api reads it from its working directory, the environment wins. */
describe('.env in the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-dotenv-'));
  let api: ApiProcess | undefined;
  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("configures the api from .env, and a variable set in the environment wins over the file's", async () => {
    // PORT in the file would make the api listen elsewhere: the environment's PORT (startApi's) must win.
    writeFileSync(join(dir, '.env'), 'CORS_ORIGIN=http://from-dotenv.example\nPORT=1\nLOG_LEVEL=warn\n');
    api = await startApi({ NODE_ENV: 'development' }, { cwd: dir });
    const allowed = await fetch(`${api.url}/livez`, { headers: { Origin: 'http://from-dotenv.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://from-dotenv.example');
    const other = await fetch(`${api.url}/livez`, { headers: { Origin: 'http://localhost:3000' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
