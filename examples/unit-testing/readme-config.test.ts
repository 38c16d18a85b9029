/**
 * Keeps README.md honest: its jest configuration is the one tollgate's CI runs against the packed
 * package, and it runs this folder's suite (imports of jose and openid-client included) in a
 * jest of its own.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../..');

/** The README's `// jest.config.js` block, evaluated as the CommonJS module it is. */
function readmeConfig(): Record<string, unknown> {
  const readme = readFileSync(join(__dirname, 'README.md'), 'utf8');
  const code = /```js\n(\/\/ jest\.config\.js\n[\s\S]*?)```/.exec(readme)?.[1];
  if (!code) throw new Error('README.md has no ```js block starting with // jest.config.js');
  const module = { exports: {} as Record<string, unknown> };
  new Function('module', code)(module);
  return module.exports;
}

describe('the jest configuration in README.md', () => {
  it('is the configuration of the packed-package test, with @swc/jest as the transformer', () => {
    const config = readmeConfig();
    const fixture = require(join(root, 'test/pack/fixture/jest.config.js')) as Record<string, unknown>;
    expect(config.transformIgnorePatterns).toEqual(fixture.transformIgnorePatterns);
    expect(config.testEnvironment).toBe(fixture.testEnvironment);
    const [[pattern, [transformer, options]]] = Object.entries(config.transform as Record<string, [string, unknown]>) as [[string, [string, unknown]]];
    const [[fixturePattern, [, fixtureOptions]]] = Object.entries(fixture.transform as Record<string, [string, unknown]>) as [[string, [string, unknown]]];
    expect([pattern, transformer, options]).toEqual([fixturePattern, '@swc/jest', fixtureOptions]);
  });

  it('runs the unit-testing suite in a jest of its own', () => {
    const config = {
      ...readmeConfig(),
      rootDir: root,
      roots: ['<rootDir>/examples/unit-testing'],
      testMatch: ['**/unit-testing.test.ts'],
      // Only because this repository tests its sources: a user's project has tollgate installed.
      moduleNameMapper: {
        '^tollgate$': '<rootDir>/src/index.ts',
        '^tollgate/express$': '<rootDir>/src/adapters/express.ts',
        '^tollgate/testing$': '<rootDir>/src/testing/index.ts',
      },
    };
    const result = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--config', JSON.stringify(config), '--ci'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const [, passed, total] = /Tests:\s+(\d+) passed, (\d+) total/.exec(result.stderr) ?? [];
    expect(result.status).toBe(0);
    expect(Number(passed)).toBeGreaterThan(0);
    expect(passed).toBe(total);
  }, 60_000);
});
