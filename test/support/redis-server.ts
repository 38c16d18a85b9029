/**
 * A redis-server of a test's own on a free port, which the test may kill, start again, pause or
 * put to sleep. The shared Redis on 6379 is never stopped by a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from './ports';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets `sleep` (DEBUG SLEEP) work: Redis >= 7 refuses DEBUG otherwise, and older ones reject this flag. */
export const DEBUG_COMMANDS = ['--enable-debug-command', 'local'];

/** Sends one inline command and resolves with the first reply line (or rejects on a socket error). */
export function redisCommand(port: number, line: string, waitForReply = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.write(`${line}\r\n`);
      if (!waitForReply) {
        // DEBUG SLEEP answers only once Redis wakes up; the caller does not wait for that.
        socket.unref();
        resolve('sent');
      }
    });
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().split('\r\n')[0]!);
    });
    socket.once('error', reject);
  });
}

async function pings(port: number): Promise<boolean> {
  try {
    const reply = await Promise.race([redisCommand(port, 'PING'), sleep(500).then(() => '')]);
    // A server with requirepass answers NOAUTH: it is up.
    return reply === '+PONG' || reply.startsWith('-NOAUTH');
  } catch {
    return false;
  }
}

/** A redis-server a test started; no persistence, so a restart starts empty. */
export class OwnRedis {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /**
   * Starts a server; `extraArgs` are more redis-server options (`['--requirepass', 'x']`,
   * {@link DEBUG_COMMANDS} for `sleep`).
   */
  static async create(extraArgs: string[] = []): Promise<OwnRedis> {
    return OwnRedis.on(await freePort(), extraArgs);
  }

  /** Starts a server on a port the caller chose (a Redis Cluster node needs its bus port beside it). */
  static async on(port: number, extraArgs: string[] = []): Promise<OwnRedis> {
    const redis = new OwnRedis(port, extraArgs);
    await redis.start();
    return redis;
  }

  /** Whether the server process is running (started and not killed). */
  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (or starts again) the server on the same port and waits until it answers PING. */
  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...this.extraArgs];
    this.child = spawn('redis-server', args, { stdio: 'ignore' });
    const child = this.child;
    const deadline = Date.now() + 5_000;
    while (!(await pings(this.port))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on ${this.port} did not start`);
      }
      await sleep(20);
    }
  }

  /** Kills the server outright (SIGKILL: clients see their connections reset). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Kills the server at once without waiting (for a process's 'exit' handler, where nothing can be awaited). */
  killNow(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }

  /** Blocks the whole server for `seconds` (DEBUG SLEEP), without waiting for it to wake. */
  sleep(seconds: number): Promise<string> {
    return redisCommand(this.port, `DEBUG SLEEP ${seconds}`, false);
  }

  command(line: string): Promise<string> {
    return redisCommand(this.port, line);
  }
}
