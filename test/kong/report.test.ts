/**
 * What fromKong does with parts of a file it cannot run: refused all at once by default, left out
 * and listed with `onUnsupported: 'warn'`, never silently ignored; and what Kong itself would
 * refuse always throws.
 */
import { ConfigError } from 'tollgate';
import { checkKong, fromKong } from 'tollgate/kong';
import { configError } from '../support/config-error';

const file = (body: string) => `_format_version: "3.0"\n${body}`;
const service = `services:
  - name: s
    url: http://127.0.0.1:9
    routes:
      - { name: r, paths: [/r] }
`;

describe('fromKong with unsupported parts', () => {
  const withAcl = file(`${service}plugins:
  - { name: acl, config: { allow: [admins] } }
  - { name: cors }
  - { name: rate-limiting, config: { minute: 5, sync_rate: 10, policy: cluster } }
`);

  it('throws one ConfigError naming every unsupported path, not only the first', () => {
    const err = configError(() => fromKong(withAcl));
    expect(err.message).toContain('plugins[0]: plugin acl: tollgate has no such plugin');
    expect(err.message).toContain('plugins[1]: plugin cors');
    expect(err.message).toContain('plugins[2].config.sync_rate');
    expect(err.message).toContain('plugins[2].config.policy');
    expect(err.message).toMatch(/4 parts of the file cannot run/);
    expect(err.option).toBe('plugins[0]');
  });

  it("leaves them out and lists them with onUnsupported: 'warn'", async () => {
    const kong = fromKong(withAcl, { onUnsupported: 'warn' });
    expect(kong.warnings.map((w) => w.path)).toEqual(['plugins[0]', 'plugins[1]', 'plugins[2].config.policy', 'plugins[2].config.sync_rate']);
    expect(kong.warnings[2]!.message).toMatch(/'cluster' keeps counters in Kong's database/);
    expect(kong.report.find((f) => f.path === 'plugins[2]')?.message).toMatch(/rateLimit\(.*"minute":5/);
    await kong.close();
  });


  it('reports unsupported entities, route fields and service fields by path', () => {
    const findings = checkKong(
      file(`services:
  - name: s
    url: https://backend.example
    tls_verify: false
    routes:
      - { name: r, paths: [/r], snis: [a.example], protocols: [grpc, https] }
consumers:
  - username: alice
    keyauth_credentials: [{ key: secret }]
certificates:
  - { cert: x, key: y }
`),
    );
    const unsupported = findings.filter((f) => f.status === 'unsupported').map((f) => f.path);
    expect(unsupported).toEqual(expect.arrayContaining(['certificates', 'services[0].tls_verify', 'services[0].routes[0].snis', 'services[0].routes[0].protocols', 'consumers[0].keyauth_credentials']));
  });

  it('accepts a deck dump that lists every field at its Kong default', () => {
    const dump = file(`services:
  - name: s
    protocol: http
    host: 127.0.0.1
    port: 9
    path: null
    retries: 5
    connect_timeout: 60000
    read_timeout: 60000
    write_timeout: 60000
    enabled: true
    tls_verify: null
    ca_certificates: null
    client_certificate: null
    tags: [prod]
    routes:
      - name: r
        paths: [/r]
        methods: null
        hosts: null
        headers: null
        snis: null
        sources: null
        destinations: null
        protocols: [http, https]
        strip_path: true
        preserve_host: false
        regex_priority: 0
        path_handling: v0
        https_redirect_status_code: 426
        request_buffering: true
        response_buffering: true
        plugins:
          - name: rate-limiting
            enabled: true
            protocols: [grpc, grpcs, http, https]
            config:
              minute: 5
              second: null
              hour: null
              limit_by: consumer
              policy: local
              fault_tolerant: true
              hide_client_headers: false
              error_code: 429
              error_message: API rate limit exceeded
              sync_rate: -1
              header_name: null
              path: null
              redis: { host: null, port: 6379, timeout: 2000, database: 0, ssl: false, ssl_verify: false, username: null, password: null, server_name: null }
          - name: proxy-cache
            config:
              strategy: memory
              cache_ttl: 300
              cache_control: false
              content_type: [text/plain, application/json]
              request_method: [GET, HEAD]
              response_code: [200, 301, 404]
              ignore_uri_case: false
              memory: { dictionary_name: kong_db_cache }
              response_headers: { age: true, X-Cache-Status: true, X-Cache-Key: true }
              storage_ttl: null
              vary_headers: null
              vary_query_params: null
`);
    const findings = checkKong(dump);
    expect(findings.filter((f) => f.status === 'unsupported' || f.status === 'invalid')).toEqual([]);
  });

  it('narrows openid-connect to the methods tollgate has, and says so', () => {
    const oidc = (config: string) => file(`${service}plugins:\n  - { name: openid-connect, config: ${config} }\n`);
    // Kong's default is all nine methods: reported, not silently narrowed.
    const byDefault = configError(() => fromKong(oidc('{ issuer: "https://idp.example/" }')));
    expect(byDefault.message).toMatch(/plugins\[0\]\.config\.auth_methods: Kong's default enables all nine methods; authorization_code, kong_oauth2, password, refresh_token, session, userinfo are not supported/);
    const warned = fromKong(oidc('{ issuer: "https://idp.example/", auth_methods: [session, bearer], session_secret: x }'), { onUnsupported: 'warn' });
    expect(warned.warnings.map((w) => w.path)).toEqual(['plugins[0].config.auth_methods', 'plugins[0].config.session_secret']);
    expect(warned.report.find((f) => f.path === 'plugins[0]')?.message).toMatch(/oidc\(\{"issuer":"https:\/\/idp.example\/","authMethods":\["bearer"\]/);
    // Nothing left to run: the plugin is left out, and the warning says it.
    const none = fromKong(oidc('{ issuer: "https://idp.example/", auth_methods: [password] }'), { onUnsupported: 'warn' });
    expect(none.warnings.map((w) => w.message)).toContain('none of the methods is supported; the plugin is left out');
  });

  it('refuses what Kong itself refuses even with warn: broken references, duplicate instances, consumer-bound auth', () => {
    const broken = configError(() =>
      fromKong(
        file(`routes:
  - { name: r, paths: [/r], service: missing }
plugins:
  - { name: rate-limiting, route: nowhere, config: { minute: 1 } }
  - { name: openid-connect, consumer: alice, config: { issuer: "https://idp.example/", auth_methods: [bearer] } }
  - { name: rate-limiting, config: { minute: 1 } }
  - { name: rate-limiting, config: { minute: 2 } }
consumers:
  - username: alice
`),
        { onUnsupported: 'warn' },
      ),
    );
    expect(broken.message).toContain('routes[0].service: names no service of the file ("missing")');
    expect(broken.message).toContain('plugins[0].route: names no route of the file ("nowhere")');
    expect(broken.message).toContain('plugins[1].consumer: openid-connect cannot be bound to a consumer');
    expect(broken.message).toContain('plugins[3]: a second rate-limiting with the same service, route and consumer as plugins[2]');
  });

  it("passes option errors of tollgate's plugins through with the path in the file", () => {
    const err = configError(() => fromKong(file(`${service}plugins:\n  - { name: rate-limiting, config: { minute: 10, hour: 5 } }\n`)));
    expect(err.message).toMatch(/plugins\[0\]\.config: rateLimit: "hour" \(5\) must not be lower than "minute" \(10\)/);
  });

  it('requires _format_version 3.0 and asks for a conversion of older files', () => {
    expect(configError(() => fromKong('services: []')).message).toMatch(/_format_version: is required/);
    expect(configError(() => fromKong('_format_version: "2.1"')).message).toMatch(/deck file convert/);
    expect(fromKong('_format_version: "3.0"').warnings).toEqual([]);
  });
});

describe('fromKong input', () => {
  it('resolves ${{ env "DECK_…" }} from the env option, before parsing as decK does', () => {
    const yaml = file(`services:
  - name: s
    url: \${{ env "DECK_UPSTREAM" }}
    connect_timeout: \${{ env "DECK_TIMEOUT" }}
    routes: [{ name: r, paths: [/r] }]
`);
    const findings = checkKong(yaml, { env: { DECK_UPSTREAM: 'http://10.0.0.7:8080/v2', DECK_TIMEOUT: '1500' } });
    expect(findings.find((f) => f.path === 'services[0]')?.message).toContain('upstreamProxy({"url":"http://10.0.0.7:8080/v2","connectTimeout":1500})');
  });

  it('names every unset or non-DECK_ variable at once', () => {
    const err = configError(() => fromKong(file('services:\n  - url: ${{ env "DECK_A" }}\n    name: ${{ env "HOME" }}\n'), { env: {} }));
    expect(err.message).toMatch(/"DECK_A" is not set; "HOME" does not start with DECK_/);
  });

  it('takes JSON text and an object as well as YAML', () => {
    const object = { _format_version: '3.0', routes: [{ name: 'r', paths: ['/r'] }] };
    expect(fromKong(JSON.stringify(object)).report.some((f) => f.path === 'routes[0]')).toBe(true);
    expect(fromKong(object).report.some((f) => f.path === 'routes[0]')).toBe(true);
  });

  it('refuses text that is not YAML, and unknown options', () => {
    expect(() => fromKong('services: [unclosed')).toThrow(ConfigError);
    expect(configError(() => fromKong('_format_version: "3.0"', { strict: true } as never)).option).toBe('strict');
    expect(configError(() => fromKong('_format_version: "3.0"', { onUnsupported: 'ignore' as never })).option).toBe('onUnsupported');
  });
});
