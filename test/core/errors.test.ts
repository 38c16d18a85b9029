import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  ForbiddenError,
  IdentityProviderError,
  InternalError,
  RateLimitError,
  renderError,
  TollgateError,
  UnauthorizedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from 'tollgate';
import { errorCatalogue } from '../../src/core/errors';
import { registrationErrorCodes } from 'tollgate/dcr';

describe('renderError', () => {
  it.each([
    [new UnauthorizedError(), 401, 'Unauthorized'],
    [new ForbiddenError(), 403, 'Forbidden'],
    [new RateLimitError(), 429, 'API rate limit exceeded'],
    [new UpstreamError(), 502, 'An invalid response was received from the upstream server'],
    [new UpstreamUnavailableError(), 503, 'No healthy upstream'],
    [new UpstreamTimeoutError(), 504, 'The upstream server is timing out'],
    [new IdentityProviderError(), 503, 'The identity provider is unavailable'],
    [new InternalError('db password is hunter2'), 500, 'An unexpected error occurred'],
    [new Error('token abc.def.ghi'), 500, 'An unexpected error occurred'],
    ['a string thrown', 500, 'An unexpected error occurred'],
  ])('renders %p as DESIGN.md says', (err, status, message) => {
    const rendered = renderError(err);
    expect(rendered.status).toBe(status);
    expect(rendered.body).toEqual({ message });
  });

  it('keeps the headers of the error and adds request_id when known', () => {
    const err = new RateLimitError('API rate limit exceeded', { headers: { 'Retry-After': '7' }, status: 503 });
    expect(renderError(err, 'req-1')).toEqual({ status: 503, headers: { 'Retry-After': '7' }, body: { message: 'API rate limit exceeded', request_id: 'req-1' } });
  });

  it('keeps the foreign error as cause, not in the message', () => {
    const cause = new Error('ECONNREFUSED 127.0.0.1:1');
    const err = new UpstreamError(undefined, { cause });
    expect(err.cause).toBe(cause);
    expect(JSON.stringify(renderError(err))).not.toContain('ECONNREFUSED');
  });
});

describe('the error catalogue', () => {
  it('gives every class a stable code, status and expose flag', () => {
    for (const [code, Klass] of Object.entries(errorCatalogue)) {
      // A class with several codes takes the one it carries as an option (UnauthorizedError).
      const err = Klass === ConfigError ? new ConfigError('x', 'y') : new (Klass as new (m?: string, o?: { code: string }) => TollgateError)(undefined, { code });
      expect(err).toBeInstanceOf(TollgateError);
      expect(err.code).toBe(code);
      expect(err.code).toMatch(/^ERR_[A-Z]+_[A-Z_]+$/);
      expect(err.status).toBeGreaterThanOrEqual(400);
      expect(typeof err.expose).toBe('boolean');
      expect(err.name).toBe(Klass.name);
    }
  });

  it('is documented, code by code, in docs/errors.md (with the registration codes of tollgate/dcr)', () => {
    const doc = readFileSync(join(__dirname, '../../docs/errors.md'), 'utf8');
    const documented = [...doc.matchAll(/^## `(ERR_[A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...Object.keys(errorCatalogue), ...Object.keys(registrationErrorCodes)].sort());
  });
});
