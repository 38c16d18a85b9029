/**
 * Target selection: round-robin over the healthy targets, with passive health checks that take a
 * failing target out for a while (a circuit breaker fed by real traffic).
 *
 * Kong's passive checks only ever mark a target unhealthy; bringing it back needs active checks or
 * the Admin API. tollgate has no prober, so an unhealthy target comes back after `cooldown` seconds
 * and its next failure takes it out again.
 *
 * @see https://developer.konghq.com/gateway/traffic-control/health-checks-circuit-breakers/
 */
import type { TargetHealthState } from '../../core/diagnostics';
import { describeError, getLogger, type Logger } from '../../core/logger';
import type { TargetConfig, UpstreamProxyConfig } from './options';

/** What one try at a target ended with, as the health checks count it. */
export type Outcome = 'tcp' | 'timeout' | number;

/** One target and its health. */
export class TargetState {
  tcpFailures = 0;
  timeouts = 0;
  httpFailures = 0;
  /** Epoch ms until which the target gets no traffic; 0 when healthy. */
  downUntil = 0;

  constructor(readonly target: TargetConfig) {}

  healthy(now: number): boolean {
    return this.downUntil <= now;
  }
}

/** Round-robin over targets, skipping those the passive checks took out. */
export class Balancer {
  readonly states: readonly TargetState[];
  private cursor = 0;
  private readonly health: UpstreamProxyConfig['healthchecks'];
  private readonly checked: boolean;

  /**
   * @param logger - the plugin's own logger, if it was given one (else the one `setLogger` set)
   */
  constructor(
    config: UpstreamProxyConfig,
    private readonly logger?: Logger,
  ) {
    this.states = config.targets.map((t) => new TargetState(t));
    this.health = config.healthchecks;
    // A single `url` is Kong's service host: no balancer, no health checks, retries go to it again.
    this.checked = config.balanced;
  }

  /**
   * The next target to try: the next healthy one in turn that this request has not tried yet,
   * else a healthy one it has tried, else none (every target is out: 503).
   */
  pick(tried: readonly TargetState[]): TargetState | undefined {
    const states = this.states;
    if (states.length === 1) {
      const only = states[0]!;
      return !this.checked || only.healthy(Date.now()) ? only : undefined;
    }
    const now = Date.now();
    let fallback: TargetState | undefined;
    for (let i = 0; i < states.length; i++) {
      const index = (this.cursor + i) % states.length;
      const state = states[index]!;
      if (!state.healthy(now)) continue;
      if (tried.includes(state)) {
        fallback ??= state;
        continue;
      }
      this.cursor = index + 1;
      return state;
    }
    return fallback;
  }

  /** A target's health as metrics report it (a single `url` is never checked). */
  healthOf(state: TargetState): TargetHealthState {
    return !this.checked ? 'healthchecks_off' : state.healthy(Date.now()) ? 'healthy' : 'unhealthy';
  }

  /** Seconds until the first unhealthy target comes back (for `Retry-After`). */
  retryAfter(): number {
    const now = Date.now();
    let soonest = Infinity;
    for (const s of this.states) if (s.downUntil > now) soonest = Math.min(soonest, s.downUntil - now);
    return Number.isFinite(soonest) ? Math.max(1, Math.ceil(soonest / 1000)) : 1;
  }

  /** Counts the outcome of one try; enough failures in a row take the target out. */
  report(state: TargetState, outcome: Outcome, cause?: unknown): void {
    if (!this.checked) return;
    const h = this.health;
    if (outcome === 'tcp') {
      if (h.tcpFailures > 0 && ++state.tcpFailures >= h.tcpFailures) this.takeOut(state, 'connection failures', cause);
    } else if (outcome === 'timeout') {
      if (h.timeouts > 0 && ++state.timeouts >= h.timeouts) this.takeOut(state, 'timeouts', cause);
    } else if (h.httpFailures > 0 && h.httpStatuses.includes(outcome)) {
      if (++state.httpFailures >= h.httpFailures) this.takeOut(state, `HTTP ${outcome} responses`, cause);
    } else if (state.tcpFailures !== 0 || state.timeouts !== 0 || state.httpFailures !== 0) {
      state.tcpFailures = state.timeouts = state.httpFailures = 0;
    }
  }

  private takeOut(state: TargetState, why: string, cause: unknown): void {
    state.tcpFailures = state.timeouts = state.httpFailures = 0;
    state.downUntil = Date.now() + this.health.cooldown * 1000;
    (this.logger ?? getLogger()).warn(`upstreamProxy: target ${state.target.url} is unhealthy after ${why}; no traffic for ${this.health.cooldown}s`, cause === undefined ? undefined : describeError(cause));
  }
}
