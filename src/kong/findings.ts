/**
 * What a decK file's parts map to, collected while it is read: each part is supported (1:1),
 * translated (works, with a difference docs/kong.md names), unsupported (left out, never silently)
 * or invalid (Kong itself would refuse it).
 */
import { ConfigError } from '../core/errors';

/** How one part of a decK file maps to tollgate. */
export type KongFindingStatus = 'supported' | 'translated' | 'unsupported' | 'invalid';

/** One line of the report: a path in the file (`services[0].routes[1].plugins[0].config.sync_rate`) and what became of it. */
export interface KongFinding {
  /** Where in the file: `plugins[2].config.policy`. */
  readonly path: string;
  /** supported (1:1), translated (runs, with the difference `message` names), unsupported (left out) or invalid (Kong refuses it too). */
  readonly status: KongFindingStatus;
  /** What the part maps to, or why it cannot run. */
  readonly message: string;
}

/** Something in the file tollgate cannot run, left out with `onUnsupported: 'warn'`. */
export interface KongWarning {
  /** Where in the file: `plugins[0]`, `services[1].routes[0].snis`. */
  readonly path: string;
  /** What is left out and why. */
  readonly message: string;
}

/** The findings of one read of a file. */
export class Findings {
  readonly list: KongFinding[] = [];

  supported(path: string, message: string): void {
    this.list.push({ path, status: 'supported', message });
  }
  translated(path: string, message: string): void {
    this.list.push({ path, status: 'translated', message });
  }
  unsupported(path: string, message: string): void {
    this.list.push({ path, status: 'unsupported', message });
  }
  invalid(path: string, message: string): void {
    this.list.push({ path, status: 'invalid', message });
  }

  of(status: KongFindingStatus): KongFinding[] {
    return this.list.filter((f) => f.status === status);
  }

  /**
   * Throws one ConfigError naming every invalid part, and, unless they are to be left out with a
   * warning, every unsupported one: all of them at once, not the first only.
   */
  settle(onUnsupported: 'error' | 'warn'): KongWarning[] {
    const invalid = this.of('invalid');
    const unsupported = this.of('unsupported');
    const fatal = onUnsupported === 'error' ? [...invalid, ...unsupported] : invalid;
    if (fatal.length > 0) {
      const lines = fatal.map((f) => `  ${f.path}: ${f.message}${f.status === 'invalid' ? ' (Kong refuses this too)' : ''}`);
      const hint = onUnsupported === 'error' && unsupported.length > 0 ? "\nWith { onUnsupported: 'warn' } the unsupported parts are left out and listed in `warnings`." : '';
      throw new ConfigError(`fromKong: ${fatal.length} part${fatal.length === 1 ? '' : 's'} of the file cannot run in tollgate:\n${lines.join('\n')}${hint}`, fatal[0]!.path);
    }
    return unsupported.map(({ path, message }) => Object.freeze({ path, message }));
  }
}
