/**
 * The package manifest as users' installs read it: dependency ranges that let them take security
 * patches without a tollgate release, and every file `files` promises present.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; files: string[]; license: string };

describe('package.json', () => {
  it('gives every dependency a caret range (the lockfile pins what CI installs)', () => {
    const notCaret = Object.entries(pkg.dependencies).filter(([, range]) => !/^\^\d+\.\d+\.\d+$/.test(range));
    expect(notCaret).toEqual([]);
  });

  it('lists only files that exist, the build output aside', () => {
    const missing = pkg.files.filter((f) => f !== 'dist' && !existsSync(join(root, f)));
    expect(missing).toEqual([]);
  });

  it('ships the MIT licence its "license" field names', () => {
    expect(pkg.license).toBe('MIT');
    const text = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) 2026 tollgate contributors\n/);
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });
});
