/**
 * The main job: `npm start`'s gateway plays the Kong + Auth0 walkthrough end to end on loopback —
 * 401 without or with wrong credentials, the token exchange, Miss then Hit with Age, the rate-limit
 * countdown, then 429.
 */
import { format, play } from '../../demo/play';
import { DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, startDemo, type Demo } from '../../demo/setup';

describe('the walkthrough demo', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemo(0, {});
  });
  afterAll(() => demo.close());

  it('plays the Kong + Auth0 walkthrough with the statuses and headers it promises', async () => {
    const steps = await play(demo.url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET);
    expect(demo.mode).toBe('local');
    expect(steps.map((s) => s.status)).toEqual([401, 401, 200, 200, 200, 200, 200, 429]);
    expect(steps[0]!.headers['WWW-Authenticate']).toMatch(/^Bearer realm="127\.0\.0\.1:\d+"$/);
    expect(steps[1]!.note).toBe('{"message":"Unauthorized"}');
    expect(steps.slice(2, 7).map((s) => s.headers['X-Cache-Status'])).toEqual(['Miss', 'Hit', 'Hit', 'Hit', 'Hit']);
    expect(steps[3]!.headers['Age']).toMatch(/^\d+$/);
    expect(steps.slice(2, 8).map((s) => s.headers['X-RateLimit-Remaining-Minute'])).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(steps[2]!.note).toMatch(/^upstream received Authorization: Bearer eyJ/);
    expect(steps[7]!.note).toBe('{"message":"API rate limit exceeded"}');
    expect(Number(steps[7]!.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(format(steps)).toContain('$ curl -i -u demo-client:demo-secret localhost:');
  });
});
