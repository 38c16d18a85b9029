/**
 * Type tests: `tsc --noEmit` (part of `npm test`) fails if a plugin's shared state stops being
 * typed for whoever imports it. The `@ts-expect-error` lines fail the type-check if the error they
 * expect disappears.
 */
import { definePlugin, type RequestContext } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';

declare module 'tollgate' {
  interface SharedState {
    tenant: string;
    quota: { used: number };
  }
}

const tenant = definePlugin({
  name: 'tenant',
  priority: 10,
  access(ctx) {
    ctx.shared.tenant = ctx.request.header('x-tenant') ?? 'public';
  },
});

// Never called: only type-checked.
export function misuses(ctx: RequestContext): void {
  // @ts-expect-error a slice declared as string does not take a number
  ctx.shared.tenant = 42;
  // @ts-expect-error a slice that no plugin declared does not exist
  ctx.shared.undeclared = true;
}

const reader = definePlugin<Record<string, never>, { seen?: string }>({
  name: 'reader',
  priority: 1,
  access(ctx, local) {
    const value: string | undefined = ctx.shared.tenant;
    local.seen = value;
    // @ts-expect-error private state is typed by the plugin that owns it
    local.other = 1;
  },
});

function quotaOf(ctx: RequestContext): number {
  return ctx.shared.quota?.used ?? 0;
}

describe('SharedState (declaration merging)', () => {
  it('types a slice for every plugin and carries it across plugins at run time', async () => {
    const ctx = createTestContext({ headers: { 'x-tenant': 'acme' }, shared: { quota: { used: 3 } } });
    await runPlugin([reader, tenant], ctx);
    expect(ctx.local<{ seen?: string }>(reader).seen).toBe('acme');
    expect(quotaOf(ctx)).toBe(3);
  });
});
