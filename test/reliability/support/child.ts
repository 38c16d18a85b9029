/**
 * Gateway child processes: a test starts a gateway (a script in ../children) as its own Node
 * process, so that a crash shows as an exit, memory and sockets are the gateway's alone, and two
 * of them can share one Redis. Their output goes to the journal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildStats } from '../children/kit';
import { send } from './client';
import type { Journal } from './journal';

const ROOT = resolve(__dirname, '../../..');

/** A tollgate log line printed by a child. */
export interface ChildLog {
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

/** A running gateway child. */
export class GatewayChild {
  readonly logs: ChildLog[] = [];
  /** Output lines that are neither READY nor LOG (stack traces, warnings). */
  readonly other: string[] = [];
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.once('exit', (code, signal) => (this.exit = { code, signal }));
  }

  /**
   * Starts `children/<script>.ts` with `config` in GATEWAY_CONFIG, under `--expose-gc`, and waits
   * for it to listen.
   */
  static start(journal: Journal, script: string, config: unknown): Promise<GatewayChild> {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(__dirname, '../children', `${script}.ts`)], {
      cwd: ROOT,
      env: { ...process.env, GATEWAY_CONFIG: JSON.stringify(config), NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolvePort, reject) => {
      let gateway: GatewayChild | undefined;
      const early: string[] = [];
      const onLine = (stream: string) => (line: string) => {
        if (line === '') return;
        journal.log(`child:${script}:${stream}`, line);
        const ready = /^READY (\d+)$/.exec(line);
        if (ready && !gateway) {
          gateway = new GatewayChild(child, Number(ready[1]));
          gateway.other.push(...early);
          return resolvePort(gateway);
        }
        if (line.startsWith('LOG ')) {
          gateway?.logs.push(JSON.parse(line.slice(4)) as ChildLog);
          return;
        }
        (gateway?.other ?? early).push(line);
      };
      for (const [name, stream] of [['stdout', child.stdout!], ['stderr', child.stderr!]] as const) {
        let rest = '';
        stream.setEncoding('utf8');
        stream.on('data', (data: string) => {
          const lines = (rest + data).split('\n');
          rest = lines.pop()!;
          lines.forEach(onLine(name));
        });
      }
      child.once('exit', (code) => {
        if (!gateway) reject(new Error(`${script} exited with ${code} before listening: ${early.join('\n')}`));
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Whether the process is still running. */
  get alive(): boolean {
    return this.exit === undefined;
  }

  /** How it ended, once it has. */
  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exit;
  }

  /** Memory after a forced GC and live handles, from the child itself. */
  async stats(): Promise<ChildStats> {
    const res = await send(undefined, `${this.url}/__stats`, { agent: false });
    if (res.status !== 200) throw new Error(`/__stats answered ${res.status ?? res.error}`);
    return JSON.parse(res.body.toString()) as ChildStats;
  }

  /** Open socket file descriptors of the process, read from /proc (listening socket included). */
  sockets(): number {
    const dir = `/proc/${this.pid}/fd`;
    let n = 0;
    for (const fd of readdirSync(dir)) {
      try {
        if (readlinkSync(join(dir, fd)).startsWith('socket:')) n++;
      } catch {
        // closed while we looked
      }
    }
    return n;
  }

  /** Resident set size in bytes, read from /proc. */
  rss(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  /** Stops the process (SIGTERM, then SIGKILL after 3 s). */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
