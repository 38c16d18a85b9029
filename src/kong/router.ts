/**
 * Kong's router: which route a request matches, with Kong's priority rules (the default
 * `traditional_compatible` flavor).
 *
 * Each route becomes one matcher per group of its paths (all regexes together, prefixes by
 * length), ranked by, in order: how many of methods, hosts, headers, paths it sets; whether its
 * hosts are all plain (no wildcard); how many headers; regex paths before prefixes; among regexes
 * `regex_priority`; among prefixes the longest. The first matcher that matches wins; exact ties go
 * to the route listed first (Kong: to the route id that sorts last).
 *
 * @see https://developer.konghq.com/gateway/routing/traditional/ — route priority
 * @see https://github.com/Kong/kong/blob/master/kong/router/transform.lua — get_priority
 */
import type { RoutePlan } from './routes';

/** What a request is matched on. */
export interface MatchInput {
  readonly method: string;
  /** The normalised path, relative to where the router is mounted. */
  readonly path: string;
  /** The Host without its port, lower-cased. */
  readonly host: string;
  /** The port in the Host header, else the one the connection arrived on. */
  readonly port: number | undefined;
  header(name: string): string | undefined;
}

/** The route a request matched and the part of its path that matched (a prefix or a regex match). */
export interface Match<R> {
  readonly route: R;
  readonly matched: string | undefined;
}

interface Matcher<R> {
  readonly route: R;
  readonly plan: RoutePlan;
  readonly prefixes: readonly string[];
  readonly regexes: readonly RegExp[];
  readonly rank: readonly number[];
  readonly order: number;
}

function rankOf(plan: RoutePlan, regex: boolean, length: number): number[] {
  const hasPaths = plan.prefixes.length + plan.regexes.length > 0;
  const weight = [plan.methods, plan.hosts, plan.headers].filter((x) => x !== undefined).length + (hasPaths ? 1 : 0);
  const plainHosts = plan.hosts !== undefined && plan.hosts.every((h) => h.kind === 'exact') ? 1 : 0;
  return [weight, plainHosts, plan.headers?.length ?? 0, regex ? 1 : 0, regex ? plan.regexPriority : 0, length];
}

const compare = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i]! - a[i]!;
  return 0;
};

function hostMatches(plan: RoutePlan, input: MatchInput): boolean {
  return plan.hosts!.some(
    (h) =>
      (h.port === undefined || h.port === input.port) &&
      (h.kind === 'exact' ? input.host === h.value : h.kind === 'suffix' ? input.host.endsWith(h.value) : input.host.startsWith(h.value)),
  );
}

function headersMatch(plan: RoutePlan, input: MatchInput): boolean {
  return plan.headers!.every((rule) => {
    const value = input.header(rule.name)?.toLowerCase();
    return value !== undefined && (rule.values.includes(value) || rule.patterns.some((p) => p.test(value)));
  });
}

/** The routes of a file, ordered once by Kong's priority; `match` walks them in that order. */
export class Router<R> {
  private readonly matchers: readonly Matcher<R>[];

  constructor(routes: readonly { plan: RoutePlan; route: R }[]) {
    const matchers: Matcher<R>[] = [];
    routes.forEach(({ plan, route }) => {
      const base = { route, plan };
      if (plan.regexes.length > 0) matchers.push({ ...base, prefixes: [], regexes: plan.regexes.map((r) => r.re), rank: rankOf(plan, true, 0), order: matchers.length });
      const lengths = [...new Set(plan.prefixes.map((p) => p.length))];
      for (const length of lengths) {
        matchers.push({ ...base, prefixes: plan.prefixes.filter((p) => p.length === length), regexes: [], rank: rankOf(plan, false, length), order: matchers.length });
      }
      if (plan.regexes.length === 0 && plan.prefixes.length === 0) matchers.push({ ...base, prefixes: [], regexes: [], rank: rankOf(plan, false, 0), order: matchers.length });
    });
    this.matchers = matchers.sort((a, b) => compare(a.rank, b.rank) || a.order - b.order);
  }

  /** The route of the highest priority that matches, or undefined (Kong's 404). */
  match(input: MatchInput): Match<R> | undefined {
    for (const m of this.matchers) {
      const plan = m.plan;
      if (plan.methods !== undefined && !plan.methods.has(input.method)) continue;
      if (plan.hosts !== undefined && !hostMatches(plan, input)) continue;
      if (plan.headers !== undefined && !headersMatch(plan, input)) continue;
      if (m.prefixes.length > 0) {
        const prefix = m.prefixes.find((p) => input.path.startsWith(p));
        if (prefix !== undefined) return { route: m.route, matched: prefix };
        continue;
      }
      if (m.regexes.length > 0) {
        for (const re of m.regexes) {
          const hit = re.exec(input.path);
          if (hit) return { route: m.route, matched: hit[0] };
        }
        continue;
      }
      return { route: m.route, matched: undefined };
    }
    return undefined;
  }
}
