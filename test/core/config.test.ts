import { ConfigError, definePlugin } from 'tollgate';
import { deepFreeze, parseShape, v } from '../../src/core/config';
import { configError } from '../support/config-error';

const where = { plugin: 'rateLimit' };
const shape = {
  minute: v.optional(v.integer({ min: 1 })),
  policy: v.optional(v.oneOf(['local', 'redis'] as const), 'local'),
  errorMessage: v.optional(v.string(), 'API rate limit exceeded'),
  headers: v.optional(v.list(v.string())),
  secret: v.optional(v.secret()),
  nested: v.optional(v.object({ ttl: v.integer({ min: 0 }) })),
  url: v.optional(v.url()),
  flag: v.optional(v.boolean()),
};

const message = (fn: () => unknown): string => configError(fn).message;

describe('parseShape', () => {
  it('fills defaults and keeps given values', () => {
    const config = parseShape(where, shape, { minute: 5, headers: 'x-a' });
    expect(config).toEqual({ minute: 5, policy: 'local', errorMessage: 'API rate limit exceeded', headers: ['x-a'] });
  });

  it.each([
    [{ minute: -1 }, 'rateLimit: "minute" must be a positive integer, got -1'],
    [{ minute: 1.5 }, 'rateLimit: "minute" must be a positive integer, got 1.5'],
    [{ minute: '5' }, 'rateLimit: "minute" must be a positive integer, got "5"'],
    [{ policy: 'cluster' }, 'rateLimit: "policy" must be one of "local", "redis", got "cluster"'],
    [{ errorMessage: '' }, 'rateLimit: "errorMessage" must be a non-empty string, got ""'],
    [{ nested: { ttl: -2 } }, 'rateLimit: "nested.ttl" must be a non-negative integer, got -2'],
    [{ nested: {} }, 'rateLimit: "nested.ttl" is required (a non-negative integer)'],
    [{ nested: { ttl: 1, tll: 2 } }, 'rateLimit: unknown option "nested.tll" (did you mean "ttl"?)'],
    [{ url: 'ftp://x' }, 'rateLimit: "url" must be an absolute http(s) URL, got "ftp://x"'],
    [{ flag: 'yes' }, 'rateLimit: "flag" must be true or false, got "yes"'],
    [{ headers: ['a', 3] }, 'rateLimit: "headers[1]" must be a non-empty string, got 3'],
  ])('names the option and what was expected for %j', (input, expected) => {
    expect(message(() => parseShape(where, shape, input))).toBe(expected);
  });

  it('reports an unknown option with a suggestion, so a typo cannot turn a policy off', () => {
    expect(message(() => parseShape(where, shape, { minite: 5 }))).toBe('rateLimit: unknown option "minite" (did you mean "minute"?)');
    expect(message(() => parseShape(where, shape, { zzzzzzzz: 5 }))).toBe('rateLimit: unknown option "zzzzzzzz"');
  });

  it('never quotes a secret in the message', () => {
    const text = message(() => parseShape(where, shape, { secret: 12345 }));
    expect(text).toBe('rateLimit: "secret" must be a non-empty string, got a number');
    expect(text).not.toContain('12345');
  });

  it('carries the option path on the error', () => {
    try {
      parseShape(where, shape, { nested: { ttl: 'x' } });
    } catch (err) {
      expect((err as ConfigError).option).toBe('nested.ttl');
      expect((err as ConfigError).code).toBe('ERR_CONFIG_INVALID');
    }
    expect.assertions(2);
  });

  it('rejects options that are not an object', () => {
    expect(message(() => parseShape(where, shape, 42))).toBe('rateLimit: options must be an object, got 42');
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays', () => {
    const config = deepFreeze({ a: { b: [1, 2] } });
    expect(Object.isFrozen(config.a)).toBe(true);
    expect(Object.isFrozen(config.a.b)).toBe(true);
  });
});

describe('definePlugin', () => {
  it.each([
    [{ name: '', priority: 1, access() {} }, '"name"'],
    [{ name: 'x y', priority: 1, access() {} }, '"name"'],
    [{ name: 'x', priority: Number.NaN, access() {} }, '"priority" must be a finite number'],
    [{ name: 'x', priority: 1 }, 'define at least one of access, headerFilter, bodyFilter, log'],
    [{ name: 'x', priority: 1, access: 'nope' }, '"access" must be a function'],
    [{ name: 'x', priority: 1, access() {}, acess() {} }, 'unknown property "acess"'],
  ])('throws ConfigError for a malformed definition (%#)', (definition, expected) => {
    expect(message(() => definePlugin(definition as never))).toContain(expected);
  });

  it('freezes the plugin and its config', () => {
    const plugin = definePlugin({ name: 'x', priority: 1, config: { list: [1] }, access() {} });
    expect(Object.isFrozen(plugin)).toBe(true);
    expect(Object.isFrozen(plugin.config.list)).toBe(true);
  });
});
