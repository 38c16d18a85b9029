/**
 * Kong services and upstreams as the proxy runs them: targets round-robin, weight 0 left out,
 * passive health checks off unless the file sets them (Kong's default), the service timeouts,
 * preserve_host and strip_path: false.
 */
import express from 'express';
import request from 'supertest';
import { setLogger } from 'tollgate';
import { checkKong, fromKong, type KongGateway } from 'tollgate/kong';
import { createEchoUpstream, type EchoResponse, type EchoUpstream } from 'tollgate/testing';
import { closedPort, listen, type Running } from '../plugins/upstream-proxy/servers';

describe('fromKong services and upstreams', () => {
  let a: EchoUpstream;
  let b: EchoUpstream;
  let silent: Running;
  const gateways: KongGateway[] = [];
  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn() {}, error() {} });
    [a, b, silent] = await Promise.all([createEchoUpstream(), createEchoUpstream(), listen(() => {})]);
  });
  afterAll(async () => {
    setLogger(null);
    await Promise.all([a.close(), b.close(), silent.close(), ...gateways.map((g) => g.close())]);
  });
  const appOf = (yaml: string) => {
    const kong = fromKong(`_format_version: "3.0"\n${yaml}`);
    gateways.push(kong);
    const app = express();
    app.use(kong.express());
    return app;
  };

  it("sends a service whose host names an upstream to the upstream's targets in turn", async () => {
    const dead = await closedPort();
    const app = appOf(`
upstreams:
  - name: backends
    targets:
      - { target: 127.0.0.1:${a.port} }
      - { target: 127.0.0.1:${dead}, weight: 0 }
targets:
  - { target: 127.0.0.1:${b.port}, upstream: backends }
services:
  - name: s
    host: backends
    path: /anything
    routes: [{ name: r, paths: [/r] }]
`);
    const before = [a.requests, b.requests];
    for (let i = 0; i < 4; i++) {
      const res = await request(app).get('/r/x');
      expect(res.status).toBe(200);
      expect((res.body as EchoResponse).path).toBe('/anything/x');
    }
    // Round-robin over the two live targets; the weight-0 one never gets a request.
    expect([a.requests - before[0]!, b.requests - before[1]!]).toEqual([2, 2]);
  });

  it('takes a target out after the failures the file allows, and not before (Kong: off by default)', async () => {
    const dead = await closedPort();
    const yaml = (tcpFailures: number) => `
upstreams:
  - name: pool
    healthchecks: { passive: { unhealthy: { tcp_failures: ${tcpFailures} } } }
    targets: [{ target: 127.0.0.1:${dead} }, { target: 127.0.0.1:${a.port} }]
services:
  - { name: s, host: pool, path: /anything, retries: 0, routes: [{ name: r, paths: [/r] }] }
`;
    const statuses = async (app: express.Express) => {
      const out: number[] = [];
      for (let i = 0; i < 4; i++) out.push((await request(app).get('/r')).status);
      return out;
    };
    // Off: the dead target keeps its turn, every other request fails (no retries).
    expect(await statuses(appOf(yaml(0)))).toEqual([502, 200, 502, 200]);
    // One failure takes it out.
    expect(await statuses(appOf(yaml(1)))).toEqual([502, 200, 200, 200]);
  });

  it("applies the service's read_timeout", async () => {
    const app = appOf(`
services:
  - { name: slow, url: ${silent.url}, read_timeout: 100, retries: 0, routes: [{ name: r, paths: [/slow] }] }
`);
    const res = await request(app).get('/slow');
    expect(res.status).toBe(504);
    expect(res.body).toEqual({ message: 'The upstream server is timing out' });
  });

  it('keeps the whole path with strip_path: false and the client Host with preserve_host', async () => {
    const app = appOf(`
services:
  - name: s
    url: ${a.url}
    routes: [{ name: r, paths: [/anything], strip_path: false, preserve_host: true }]
`);
    const res = await request(app).get('/anything/kept').set('host', 'shop.example');
    expect((res.body as EchoResponse).path).toBe('/anything/kept');
    expect((res.body as EchoResponse).headers.host).toBe('shop.example');
  });

  it('answers 404 for the routes of a disabled service, as Kong does', async () => {
    const app = appOf(`
services:
  - { name: off, url: ${a.url}, enabled: false, routes: [{ name: r, paths: [/off] }] }
`);
    expect((await request(app).get('/off')).status).toBe(404);
  });

  it('reports unequal target weights and non-round-robin balancing as unsupported', () => {
    const findings = checkKong(`_format_version: "3.0"
upstreams:
  - name: pool
    algorithm: least-connections
    targets: [{ target: "10.0.0.1:80", weight: 100 }, { target: "10.0.0.2:80", weight: 50 }]
services:
  - { name: s, host: pool, routes: [{ name: r, paths: [/r] }] }
`);
    const unsupported = findings.filter((f) => f.status === 'unsupported');
    expect(unsupported.map((f) => f.path)).toEqual(['upstreams[0].algorithm', 'upstreams[0].targets']);
    expect(unsupported[1]!.message).toMatch(/weights 100, 50/);
  });
});
