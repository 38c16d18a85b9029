/**
 * The benchmark's shared fixtures, in a process of their own: an upstream answering a small JSON
 * document (keep-alive), and an RS256 issuer (discovery + JWKS) with one signed token.
 * Prints one JSON line: { upstreamUrl, issuerUrl, audience, token }.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from upstream' });

async function main() {
  const upstream = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'public, max-age=60' });
    res.end(body);
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' };
  const issuerServer = http.createServer();
  await new Promise<void>((r) => issuerServer.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
  const issuerUrl = `${base}/`;
  const audience = 'https://bench.tollgate.test';
  issuerServer.on('request', (req, res) => {
    const send = (doc: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc));
    };
    if (req.url === '/.well-known/openid-configuration') {
      return send({ issuer: issuerUrl, jwks_uri: `${base}/.well-known/jwks.json`, token_endpoint: `${base}/oauth/token`, id_token_signing_alg_values_supported: ['RS256'] });
    }
    if (req.url === '/.well-known/jwks.json') return send({ keys: [jwk] });
    res.writeHead(404).end();
  });
  const token = await new SignJWT({ scope: 'read:bench', azp: 'bench-client', gty: 'client-credentials' })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench-1', typ: 'JWT' })
    .setIssuer(issuerUrl)
    .setSubject('bench-client@clients')
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  console.log(JSON.stringify({ upstreamUrl, issuerUrl, audience, token }));
}

void main();
