/* eslint-disable @typescript-eslint/no-require-imports */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/api-process';

const { ensureBuild } = require(join(ROOT, 'scripts', 'ensure.js')) as { ensureBuild(root: string): void };

/** scripts/ensure.js on a small project of its own (same TypeScript): what `npm test` / `npm run up` do before starting anything. */
describe('dist/ follows src/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-build-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('drops what a deleted source compiled to (a removed migration must not keep running from dist/)', () => {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'src', 'migrations'), { recursive: true });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', module: 'commonjs', target: 'ES2022', types: [] }, include: ['src'] }));
    writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json' }));
    writeFileSync(join(dir, 'src', 'main.ts'), 'export const main = 1;\n');
    writeFileSync(join(dir, 'src', 'migrations', '1-Old.ts'), 'export const old = 1;\n');
    ensureBuild(dir);
    expect(existsSync(join(dir, 'dist', 'migrations', '1-Old.js'))).toBe(true);
    unlinkSync(join(dir, 'src', 'migrations', '1-Old.ts'));
    ensureBuild(dir);
    expect(existsSync(join(dir, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(join(dir, 'dist', 'migrations', '1-Old.js'))).toBe(false);
  });
});
