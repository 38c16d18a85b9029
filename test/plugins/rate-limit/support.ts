/**
 * Helpers for the rate-limit tests: calendar-window timing, captured logs, unique Redis prefixes
 * and a throwaway redis-server of our own (the shared one on 6379 is never stopped).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setLogger } from 'tollgate';

export const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** A key prefix no other test (or helper's test) uses. */
export const uniquePrefix = (name: string): string => `test-rl-${name}-${randomBytes(4).toString('hex')}:`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Windows are aligned to the UTC calendar: a test that counts within one period waits, if needed,
 * until at least `marginMs` are left before the period of length `periodMs` ends.
 */
export async function awayFromBoundary(periodMs: number, marginMs = 3_000): Promise<void> {
  const left = periodMs - (Date.now() % periodMs);
  if (left < marginMs) await sleep(left + 50);
}

/** Collects what tollgate logs while a test runs; `restore()` puts the default logger back. */
export function captureLogs() {
  const lines: { level: string; message: string }[] = [];
  const push = (level: string) => (message: string) => void lines.push({ level, message });
  setLogger({ debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') });
  return {
    lines,
    count: (level: string, pattern: RegExp) => lines.filter((l) => l.level === level && pattern.test(l.message)).length,
    restore: () => setLogger(null),
  };
}

import { freePort } from '../../support/ports';

export { freePort };

async function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A redis-server this test started on a free port, which it may stop and start again. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async create(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 5_000;
    while (!(await pings(this.port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.port} did not start`);
      await sleep(25);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Sends one raw command (inline protocol) and returns the first reply line. */
  async command(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, '127.0.0.1');
      socket.once('connect', () => socket.write(`${line}\r\n`));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().split('\r\n')[0]!);
      });
      socket.once('error', reject);
    });
  }
}
