/**
 * What every gateway child process shares: tollgate's log lines printed as `LOG <json>` for the
 * parent's journal, a `/__stats` route (memory after a forced GC, live handles by type), listening
 * on a free loopback port announced as `READY <port>`, and a clean exit on SIGTERM.
 */
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import { setLogger } from 'tollgate';

/** Parses the child's configuration, passed by the parent as JSON in GATEWAY_CONFIG. */
export function config<T>(): T {
  return JSON.parse(process.env.GATEWAY_CONFIG ?? '{}') as T;
}

/** Sends tollgate's log lines to stdout, one JSON document per line, for the parent's journal. */
export function printLogs(): void {
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void process.stdout.write(`LOG ${JSON.stringify({ level, message, fields })}\n`);
  setLogger({ debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') });
}

/** What `/__stats` reports. */
export interface ChildStats {
  pid: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Live libuv resources by type (`TCPSocketWrap`, `Timeout`, …), this request's socket included. */
  resources: Record<string, number>;
  gc: boolean;
}

/** Mounts `/__stats` in front of everything else. */
export function statsRoute(app: Express): void {
  app.get('/__stats', (_req, res) => {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      // Two passes: the first may only queue finalizers that free more on the second.
      gc();
      gc();
    }
    const resources: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
    const m = process.memoryUsage();
    const stats: ChildStats = { pid: process.pid, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, resources, gc: gc !== undefined };
    res.set('connection', 'close').json(stats);
  });
}

/** Listens on 127.0.0.1 (a free port) and tells the parent. */
export function serve(app: Express, onClose: () => void = () => {}): void {
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
  });
  server.keepAliveTimeout = 30_000;
  process.once('SIGTERM', () => {
    onClose();
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
