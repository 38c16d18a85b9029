/**
 * A real browser signs in: Debian's Chromium, driven by playwright-core, opens the demo's `/app`
 * over http://127.0.0.1, is sent to the test issuer's login page, signs in, and lands on the page
 * it asked for — so the cookies' attributes (HttpOnly, SameSite=Lax, no Secure over http, the
 * transaction cookie read once) are proven by a browser, not only by fetch. Then it signs out.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { DEMO_PASSWORD, DEMO_USER, startDemo, type Demo } from '../../demo/setup';

const CHROMIUM = '/usr/bin/chromium';

describe('end-user login in Chromium', () => {
  let demo: Demo;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    demo = await startDemo(0, {});
    profile = mkdtempSync(join(tmpdir(), 'tollgate-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 30_000);
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await demo?.close();
  });

  it('signs in through the issuer pages, lands on the page it asked for, and signs out', async () => {
    const page = await context.newPage();
    const asked = `${demo.appUrl}?from=browser`;
    await page.goto(asked);
    // The issuer's login page, on the issuer's own origin.
    expect(new URL(page.url()).origin).toBe(new URL(demo.issuer).origin);
    await page.fill('input[name="username"]', DEMO_USER);
    await page.fill('input[name="password"]', DEMO_PASSWORD);
    await Promise.all([page.waitForURL(asked), page.click('button[value="allow"]')]);
    expect(page.url()).toBe(asked);
    expect(await page.textContent('h1')).toBe(`Signed in as auth0|${DEMO_USER}`);

    const cookies = await context.cookies(demo.appUrl!);
    expect(cookies.map((c) => c.name)).toEqual(['session']);
    expect(cookies[0]).toMatchObject({ domain: '127.0.0.1', path: '/', httpOnly: true, secure: false, sameSite: 'Lax' });
    // HttpOnly: the page's scripts cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('');
    // A reload keeps the session (no second trip to the issuer).
    await page.reload();
    expect(page.url()).toBe(asked);

    await Promise.all([page.waitForURL(`${demo.appUrl!.replace(/\/app$/, '')}/`), page.click('#logout')]);
    expect(await context.cookies(demo.appUrl!)).toEqual([]);
    await page.click('#app');
    expect(new URL(page.url()).origin).toBe(new URL(demo.issuer).origin);
  });
});
