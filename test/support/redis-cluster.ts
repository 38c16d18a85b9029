/**
 * A real Redis Cluster of a test's own: `masters` redis-server processes with
 * `--cluster-enabled yes`, each on a free port with its cluster bus on another free port and its
 * `nodes.conf` in a temporary directory, joined by `redis-cli --cluster create` (no replicas).
 *
 * The nodes run with `cluster-require-full-coverage no`, so when a test stops one master the
 * others keep serving their own slots (what a partial outage looks like), and a short
 * `cluster-node-timeout`, so the cluster notices quickly. `stop()` kills every process and removes
 * the directories; call it in `afterAll` even when `create` failed half-way (it is idempotent).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';
import { OwnRedis } from './redis-server';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** CRC16/XMODEM, the checksum Redis Cluster takes modulo 16384. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/**
 * The hash slot of a key, as Redis computes it: only the part between the first `{` and the next
 * `}` counts when it is not empty.
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model
 */
export function keySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(hashed)) % 16384;
}

/** A port that is free now and differs from `taken` (the data port and the bus port of each node). */
async function distinctFreePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

/** Reads a whole multi-line reply (`CLUSTER INFO` is a bulk string). */
async function clusterInfo(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'], { timeout: 2_000 });
  return stdout;
}

/** A three-master (by default) Redis Cluster on loopback. */
export class OwnRedisCluster {
  private constructor(
    /** The masters, in the order their slot ranges were assigned (first holds slots 0…). */
    readonly nodes: OwnRedis[],
    private readonly dirs: string[],
  ) {}

  /** Starts the nodes, creates the cluster and waits until every node reports `cluster_state:ok`. */
  static async create(masters = 3): Promise<OwnRedisCluster> {
    const taken = new Set<number>();
    const nodes: OwnRedis[] = [];
    const dirs: string[] = [];
    const cluster = new OwnRedisCluster(nodes, dirs);
    try {
      for (let i = 0; i < masters; i++) {
        const dir = mkdtempSync(join(tmpdir(), 'tollgate-cluster-'));
        dirs.push(dir);
        const port = await distinctFreePort(taken);
        const bus = await distinctFreePort(taken);
        const args = ['--cluster-enabled', 'yes', '--cluster-port', String(bus), '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir];
        args.push('--cluster-node-timeout', '1000', '--cluster-require-full-coverage', 'no');
        nodes.push(await OwnRedis.on(port, args));
      }
      const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
      await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 });
      await cluster.waitUntilOk(cluster.nodes);
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** `redis://127.0.0.1:<port>` of every master (the form `redis: { cluster }` takes). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** `{ host, port }` of every master (the form ioredis's `Cluster` takes). */
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** The master that holds the slot of each key, in order (one CLUSTER NODES query). */
  async nodesFor(keys: string[]): Promise<OwnRedis[]> {
    const port = String(this.nodes.find((n) => n.running)!.port);
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', port, 'cluster', 'nodes'], { timeout: 2_000 });
    // `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>`
    const ranges: { from: number; to: number; node: OwnRedis }[] = [];
    for (const line of stdout.trim().split('\n')) {
      const fields = line.split(' ');
      const node = this.nodes.find((n) => fields[1]!.startsWith(`127.0.0.1:${n.port}@`))!;
      for (const range of fields.slice(8)) {
        const [from, to = from] = range.split('-').map(Number);
        ranges.push({ from: from!, to: to!, node });
      }
    }
    return keys.map((key) => {
      const slot = keySlot(key);
      const owner = ranges.find((r) => slot >= r.from && slot <= r.to);
      if (!owner) throw new Error(`no node holds slot ${slot}`);
      return owner.node;
    });
  }

  /** The master that holds the slot of `key`. */
  async nodeFor(key: string): Promise<OwnRedis> {
    return (await this.nodesFor([key]))[0]!;
  }

  /** Waits until each of `nodes` says `cluster_state:ok` (all slots served by a known master). */
  async waitUntilOk(nodes: OwnRedis[] = this.nodes.filter((n) => n.running)): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const states = await Promise.all(nodes.map((n) => clusterInfo(n.port).catch(() => '')));
      if (states.every((s) => s.includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) throw new Error(`the cluster did not become ok: ${states.join(' | ')}`);
      await sleep(50);
    }
  }

  /** Kills every node and removes their directories at once, without waiting (for an 'exit' handler). */
  stopNow(): void {
    for (const node of this.nodes) node.killNow();
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }

  /** Kills every node and removes their directories. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
