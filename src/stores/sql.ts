/**
 * The app's own SQL database as a shared store (Kong's `cluster` policy keeps its counters in
 * Kong's database): the option that names it, and its validation at construction.
 *
 * tollgate never imports a SQL client: the app passes the pool it already has (`pg` and `mysql2`
 * are optional peer dependencies), and tollgate never ends it. Only structural checks are made
 * here, so that a wrong pool is a `ConfigError` at start-up rather than a failure per request.
 */
import { parseShape, v, type Validator } from '../core/config';
import { ConfigError } from '../core/errors';

/** The SQL clients tollgate can keep counters with. */
export type SqlClientType = 'pg' | 'mysql2';

/** A database the service already uses, as a shared store. */
export interface SqlOptions {
  /**
   * The app's pool: a `pg.Pool` with `type: 'pg'`, or a `mysql2` pool (`mysql2.createPool(…)`, or
   * its promise wrapper from `mysql2/promise`) with `type: 'mysql2'`. The mysql2 pool must name a
   * `database`. tollgate runs its queries through it and never ends it.
   */
  client: object;
  /** Which client `client` is. */
  type: SqlClientType;
  /**
   * The table of counters, created (with `CREATE TABLE IF NOT EXISTS`) when the plugin starts,
   * in the pool's database (and, for PostgreSQL, its default schema). Letters, digits and `_`.
   * @defaultValue `'tollgate_ratelimit'`
   */
  tableName?: string;
  /**
   * Milliseconds one query may take before the plugin acts as in an outage (`faultTolerant`).
   * Counted from when the query is handed to the pool, so waiting for a free connection counts.
   * @defaultValue 1000
   */
  commandTimeout?: number;
  /**
   * Milliseconds the first requests wait for the table to be ready (the first connection and
   * `CREATE TABLE IF NOT EXISTS`) before the plugin acts as in an outage.
   * @defaultValue 3000
   */
  connectTimeout?: number;
}

/** The resolved `cluster` option. */
export interface SqlConfig {
  /** The pool queries go through (for mysql2's promise wrapper, the callback pool inside it). */
  readonly pool: object;
  readonly type: SqlClientType;
  readonly tableName: string;
  /** The MySQL database the table lives in (from the pool's options); undefined for PostgreSQL. */
  readonly database?: string;
  readonly commandTimeout: number;
  readonly connectTimeout: number;
}

type Fn = (...args: unknown[]) => unknown;
const has = (x: unknown, name: string): boolean => typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>)[name] === 'function';

/** A `pg.Pool`: `query`, `connect` and the pool's counters (a single `pg.Client` has none). */
const isPgPool = (x: unknown): boolean => has(x, 'query') && has(x, 'connect') && typeof (x as { totalCount?: unknown }).totalCount === 'number';

/** The callback pool of a mysql2 pool: the pool itself, or the one inside `mysql2/promise`'s wrapper. */
function mysqlPool(x: unknown): { getConnection: Fn; config?: { connectionConfig?: { database?: unknown } } } | undefined {
  const inner = has(x, 'getConnection') && typeof (x as { pool?: unknown }).pool === 'object' ? (x as { pool: unknown }).pool : x;
  // The callback API's getConnection takes a callback; its connection config sits on `config`.
  if (!has(inner, 'getConnection') || !has(inner, 'query') || typeof (inner as { config?: unknown }).config !== 'object') return undefined;
  return inner as { getConnection: Fn; config?: { connectionConfig?: { database?: unknown } } };
}

const shape = {
  client: v.custom<object>('a pg.Pool or a mysql2 pool', (x) => typeof x === 'object' && x !== null),
  type: v.oneOf(['pg', 'mysql2'] as const),
  tableName: v.optional(v.custom<string>('a table name (a letter or _, then letters, digits or _, at most 63)', (x) => typeof x === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(x)), 'tollgate_ratelimit'),
  commandTimeout: v.optional(v.integer({ min: 1 }), 1000),
  connectTimeout: v.optional(v.integer({ min: 1 }), 3000),
};

/** The validator for an SQL store option (`rateLimit`'s `cluster`). */
export function sqlOption(): Validator<SqlConfig> {
  return {
    expected: "{ client, type: 'pg' | 'mysql2' }",
    optional: false,
    quote: false,
    check(value, path, where) {
      const o = parseShape(where, shape, value, path);
      const at = `${path}.client`;
      if (o.type === 'pg') {
        if (!isPgPool(o.client)) {
          throw new ConfigError(`${where.plugin}: "${at}" must be a pg.Pool with type: 'pg' (new Pool() from the pg package)`, at);
        }
        return { pool: o.client, type: o.type, tableName: o.tableName, commandTimeout: o.commandTimeout, connectTimeout: o.connectTimeout };
      }
      const pool = mysqlPool(o.client);
      if (pool === undefined) {
        throw new ConfigError(`${where.plugin}: "${at}" must be a mysql2 pool with type: 'mysql2' (mysql2.createPool() or mysql2/promise's createPool())`, at);
      }
      const database = pool.config?.connectionConfig?.database;
      if (typeof database !== 'string' || database === '') {
        throw new ConfigError(`${where.plugin}: "${at}" must be a mysql2 pool with a "database" in its options (the counters' table is created there)`, at);
      }
      return { pool, type: o.type, tableName: o.tableName, database, commandTimeout: o.commandTimeout, connectTimeout: o.connectTimeout };
    },
  };
}
