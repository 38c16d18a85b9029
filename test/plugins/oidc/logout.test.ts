import * as client from 'openid-client';
import express from 'express';
import { oidc, type OidcPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { endSessionUrl, isAuth0 } from '../../../src/plugins/oidc/logout';
import { Jar, listen, navigate, setCookies, signIn } from './login-support';

const configurationOf = (metadata: client.ServerMetadata) => new client.Configuration(metadata, 'web', undefined, client.ClientSecretPost('s'));

describe('oidc logout URL', () => {
  it("uses the end_session_endpoint with id_token_hint, post_logout_redirect_uri and client_id", () => {
    const metadata = { issuer: 'https://idp.example.com', end_session_endpoint: 'https://idp.example.com/session/end' };
    const url = new URL(endSessionUrl(configurationOf(metadata), metadata, 'web', 'id.token.here', 'https://app.example.com/bye')!);
    expect(`${url.origin}${url.pathname}`).toBe('https://idp.example.com/session/end');
    expect(Object.fromEntries(url.searchParams)).toEqual({ id_token_hint: 'id.token.here', post_logout_redirect_uri: 'https://app.example.com/bye', client_id: 'web' });
  });

  it("sends an Auth0 tenant without an end-session endpoint to /v2/logout with client_id and returnTo", () => {
    const metadata = { issuer: 'https://acme.us.auth0.com/' };
    expect(endSessionUrl(configurationOf(metadata), metadata, 'web', 'id.token', 'https://app.example.com/bye')).toBe(
      'https://acme.us.auth0.com/v2/logout?client_id=web&returnTo=https%3A%2F%2Fapp.example.com%2Fbye',
    );
    expect([isAuth0('https://acme.eu.auth0.com/'), isAuth0('https://auth0.com.evil.example/'), isAuth0('https://login.acme.com/')]).toEqual([true, false, false]);
    const other = { issuer: 'https://idp.example.com' };
    expect(endSessionUrl(configurationOf(other), other, 'web', 'id.token', 'https://app.example.com/bye')).toBeUndefined();
  });

  describe('against an issuer without an end-session endpoint', () => {
    let idp: TestIssuer;
    let server: Awaited<ReturnType<typeof listen>>;
    let plugin: OidcPlugin;
    beforeAll(async () => {
      idp = await createTestIssuer({ users: [{ username: 'alice', password: 'pw' }], endSessionEndpoint: false });
      idp.addClient({ clientId: 'web', clientSecret: 'web-secret' });
      server = await listen();
      plugin = oidc({
        issuer: idp.issuer,
        allowInsecureIssuer: true,
        authMethods: ['authorization_code', 'session'],
        clientId: 'web',
        clientSecret: 'web-secret',
        redirectUri: `${server.url}/callback`,
        sessionSecret: 'a-session-secret-of-at-least-32-characters',
        logoutUri: '/logout',
        logoutMethods: ['GET', 'POST'],
        logoutRedirectUri: `${server.url}/bye`,
      });
      const app = express();
      app.use(gateway(plugin));
      app.get('/*path', (_req, res) => res.send('ok'));
      server.serve(app);
    });
    afterAll(async () => {
      await plugin.close();
      await server.close();
      await idp.close();
    });

    it('clears the session and goes straight to logoutRedirectUri', async () => {
      const jar = new Jar();
      await signIn(server.url, '/home', idp, jar);
      const res = await navigate(`${server.url}/logout`, jar);
      expect([res.status, res.headers.get('location')]).toEqual([302, `${server.url}/bye`]);
      expect(setCookies(res).map((c) => [c.name, c.attributes['max-age']])).toEqual([['session', '0']]);
      expect(idp.requests.endSession).toBe(0);
    });
  });
});
