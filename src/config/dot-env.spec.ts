import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDotEnv } from './dot-env';

describe('withDotEnv', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-dotenv-'));
    writeFileSync(join(dir, '.env'), '# a comment\nDB_WRITE_HOST=db.internal\nQUEUE_NAMES="high,default,emails"\nPORT=8080\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("adds the file's variables; a variable set in the environment wins", () => {
    const env = withDotEnv({ PORT: '3001', NODE_ENV: 'production' }, dir);
    expect(env).toMatchObject({ DB_WRITE_HOST: 'db.internal', QUEUE_NAMES: 'high,default,emails', PORT: '3001', NODE_ENV: 'production' });
  });

  it('is not read under NODE_ENV=test, nor when there is no file', () => {
    expect(withDotEnv({ NODE_ENV: 'test' }, dir)).toEqual({ NODE_ENV: 'test' });
    expect(withDotEnv({ PORT: '1' }, join(dir, 'nowhere'))).toEqual({ PORT: '1' });
  });
});
