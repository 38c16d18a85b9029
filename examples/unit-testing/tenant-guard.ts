/**
 * A custom policy to unit-test: lets a request through only for the tenant its token belongs to,
 * and tells the upstream which tenant that is. It runs after `oidc`, which set `ctx.credential`.
 */
import { definePlugin, ForbiddenError } from 'tollgate';

declare module 'tollgate' {
  interface SharedState {
    /** The caller's tenant, set by the tenant-guard policy. */
    tenant: string;
  }
}

/** Auth0 puts custom claims under a namespace; an Auth0 Action adds the tenant here. */
export const TENANT_CLAIM = 'https://example.com/tenant';

export interface TenantGuardOptions {
  /** The claim naming the caller's tenant. @defaultValue `TENANT_CLAIM` */
  claim?: string;
  /** The header that carries the tenant, to the upstream and back. @defaultValue `'X-Tenant'` */
  header?: string;
}

export function tenantGuard({ claim = TENANT_CLAIM, header = 'X-Tenant' }: TenantGuardOptions = {}) {
  return definePlugin({
    name: 'tenant-guard',
    // Between oidc (1050), whose credential it reads, and rateLimit (910).
    priority: 1000,
    config: { claim, header },
    access(ctx) {
      const tenant = ctx.credential?.claims?.[claim];
      if (typeof tenant !== 'string') throw new ForbiddenError();
      // A client may name its tenant, but only its own.
      const asked = ctx.request.header(header);
      if (asked !== undefined && asked !== tenant) throw new ForbiddenError();
      ctx.request.setHeader(header, tenant);
      ctx.shared.tenant = tenant;
    },
    headerFilter(ctx) {
      if (ctx.shared.tenant) ctx.response.setHeader(header, ctx.shared.tenant);
    },
  });
}
