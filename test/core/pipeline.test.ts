import { ConfigError, definePlugin, type AnyPlugin } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { internal } from '../../src/core/gateway-context';
import { settle } from '../../src/core/phases';
import { Pipeline } from '../../src/core/pipeline';

const named = (name: string, priority: number, calls: string[]) =>
  definePlugin({ name, priority, access: () => void calls.push(name) });

describe('Pipeline', () => {
  it('orders plugins by priority, highest first, keeping listed order for equal priorities', async () => {
    const calls: string[] = [];
    const pipeline = new Pipeline([named('c', 1, calls), named('a', 1050, calls), named('b', 910, calls), named('d', 1, calls)]);
    expect(pipeline.plugins.map((p) => p.name)).toEqual(['a', 'b', 'c', 'd']);
    await pipeline.runAccess(internal(createTestContext()));
    expect(calls).toEqual(['a', 'b', 'c', 'd']);
  });

  it('throws ConfigError for two plugins with the same name', () => {
    expect(() => new Pipeline([named('x', 1, []), named('x', 2, [])])).toThrow(ConfigError);
    expect(() => new Pipeline([named('x', 1, []), named('x', 2, [])])).toThrow('gateway: two plugins are named "x"');
  });

  it('throws ConfigError for something that is not a plugin', () => {
    expect(() => new Pipeline([{} as never])).toThrow('gateway: argument 1 is not a plugin');
  });

  it('stays synchronous while every access hook is', () => {
    const pipeline = new Pipeline([named('a', 1, [])]);
    expect(pipeline.runAccess(internal(createTestContext()))).toBeUndefined();
  });

  it('awaits async hooks in order and stops at an early exit', async () => {
    const calls: string[] = [];
    const slow = definePlugin({
      name: 'slow',
      priority: 3,
      async access() {
        await new Promise((r) => setTimeout(r, 5));
        calls.push('slow');
      },
    });
    const exit = definePlugin({ name: 'exit', priority: 2, access: (ctx) => ctx.exit(418, { message: 'teapot' }) });
    const result = await runPlugin([named('after', 1, calls), exit, slow]);
    expect(calls).toEqual(['slow']);
    expect(result.status).toBe(418);
    expect(result.body).toEqual({ message: 'teapot' });
    expect(result.exited).toBe(true);
  });

  it('keeps private per-request state apart for each plugin instance', async () => {
    const seen: unknown[] = [];
    const counter = (name: string) =>
      definePlugin<Record<string, never>, { n?: number }>({
        name,
        priority: 1,
        access(_ctx, local) {
          local.n = (local.n ?? 0) + 1;
        },
        headerFilter(_ctx, local) {
          seen.push([name, local.n]);
        },
      });
    await runPlugin([counter('one'), counter('two')]);
    expect(seen).toEqual([
      ['one', 1],
      ['two', 1],
    ]);
  });

  describe('settle', () => {
    const phases = (name: string, priority: number, seen: string[], settles: boolean) => {
      const plugin: AnyPlugin = definePlugin({
        name,
        priority,
        access(ctx): void {
          if (settles) settle(internal(ctx), plugin);
        },
        headerFilter: () => void seen.push(`${name} header`),
        bodyFilter: () => void seen.push(`${name} body`),
        log: () => void seen.push(`${name} log`),
      });
      return plugin;
    };

    it("skips the later phases of the plugin that settled, and only that plugin's", async () => {
      const seen: string[] = [];
      await runPlugin([phases('settled', 2, seen, true), phases('busy', 1, seen, false)], createTestContext(), { body: 'x' });
      expect(seen).toEqual(['busy header', 'busy body', 'busy log']);
    });

    it('leaves no phase to run when every plugin that ran settled', async () => {
      const seen: string[] = [];
      const result = await runPlugin([phases('a', 2, seen, true), phases('b', 1, seen, true)], createTestContext(), { body: 'x' });
      expect(seen).toEqual([]);
      expect(result.body).toBe('x');
    });
  });
});
