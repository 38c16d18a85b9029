/**
 * Claims authorization: required scopes, roles and audiences, with Kong's rule — the token passes
 * if it satisfies any one entry, and every value of that entry must be present.
 *
 * @see https://developer.konghq.com/plugins/openid-connect/reference/ — `scopes_required`, `roles_required`, `audience_required`
 */
import type { ForbiddenError } from '../../core/errors';
import type { Challenges } from './challenge';
import type { OidcConfig } from './options';

/** The value at a claim path (`['realm_access', 'roles']`), or at a single top-level name. */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = claims;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A claim's values: a space-separated string is split, an array keeps its strings and numbers, a scalar is one value. */
export function valuesOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  if (Array.isArray(value)) return value.filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  return [];
}

/** Whether `have` satisfies any one alternative in full. An empty requirement is always satisfied. */
export function satisfies(have: readonly string[], required: readonly (readonly string[])[]): boolean {
  if (required.length === 0) return true;
  const set = new Set(have);
  return required.some((entry) => entry.every((x) => set.has(x)));
}

/**
 * Checks the configured requirements against verified claims.
 *
 * @returns the 403 to answer with, or undefined when the token is authorized.
 */
export function authorize(config: OidcConfig, claims: Readonly<Record<string, unknown>>, scopes: readonly string[], challenges: Challenges): ForbiddenError | undefined {
  if (!satisfies(scopes, config.scopesRequired)) return challenges.insufficient('scope', config.scopesRequired[0]);
  if (config.rolesRequired.length > 0 && !satisfies(valuesOf(claimAt(claims, config.rolesClaim)), config.rolesRequired)) {
    return challenges.insufficient('role');
  }
  if (config.audienceRequired.length > 0 && !satisfies(valuesOf(claims.aud), config.audienceRequired)) {
    return challenges.insufficient('audience');
  }
  return undefined;
}
