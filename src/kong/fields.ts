/**
 * The field check every entity goes through: each field is read by the translator, or is
 * metadata, or is one tollgate cannot honour and must then hold its Kong default (or nothing).
 */
import type { Findings } from './findings';

/** Fields that name or describe an entity and change nothing at run time. */
const META = new Set(['id', 'name', 'instance_name', 'tags', 'created_at', 'updated_at', 'ws_id']);

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const empty = (v: unknown): boolean => v === undefined || v === null || (Array.isArray(v) && v.length === 0);

/**
 * Reports each field of `raw` that is neither read (`read`), nor metadata, nor at one of its
 * allowed values (`unsupported[key][0]`, empty values always pass) — with the message given.
 */
export function checkFields(
  path: string,
  raw: Readonly<Record<string, unknown>>,
  read: readonly string[],
  unsupported: Readonly<Record<string, readonly [readonly unknown[], string]>>,
  findings: Findings,
): void {
  for (const [key, value] of Object.entries(raw)) {
    if (META.has(key) || read.includes(key) || empty(value)) continue;
    const rule = unsupported[key];
    if (rule === undefined) findings.unsupported(`${path}.${key}`, 'is not a field tollgate knows; left out');
    else if (!rule[0].some((allowed) => same(allowed, value))) findings.unsupported(`${path}.${key}`, rule[1]);
  }
}
