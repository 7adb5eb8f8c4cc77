import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, type Page, chromium } from 'playwright-core';
import { testClock } from '../helpers/app.js';
import { type Stack, startStack } from '../helpers/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts/e2e';
const TTL = 10;
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`SKIPPED: browser end-to-end tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
const suite = hasChromium ? describe : describe.skip;

/** The app's clock moves instead of the test sleeping: the browser's cookie jar and the IdP keep real time. */
suite('in a real browser (10-second tokens, the app clock moved)', () => {
  const clock = testClock();
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack({ tokenTtl: TTL, now: clock.now });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await (await browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  const authCookie = async () => (await page.context().cookies(stack.appUrl)).find((cookie) => cookie.name === 'auth');

  test('wrong password: a clear message, no sign-in', async () => {
    await page.goto(`${stack.appUrl}/about`);
    await page.fill('input[name=username]', 'bob');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button[type=submit]');
    await expect(page.textContent('body')).resolves.toContain('Invalid username or password');
  }, 30_000);

  test('anonymous About → login page → bob / secret → About shows bob', async () => {
    await page.goto(`${stack.appUrl}/about`);
    expect(new URL(page.url()).origin).toBe(new URL(stack.idpUrl).origin);
    await page.screenshot({ path: `${ARTIFACTS}/login.png` });
    await page.fill('input[name=username]', 'bob');
    await page.fill('input[name=password]', 'secret');
    await page.click('button[type=submit]');
    await page.waitForURL(`${stack.appUrl}/about`);
    await expect(page.textContent('body')).resolves.toContain('Bob');
    expect(await page.textContent('#renewals')).toBe('0');
    expect(await page.textContent('#api')).toContain('"sub": "bob"');
    await page.screenshot({ path: `${ARTIFACTS}/about-before-renewal.png`, fullPage: true });
  }, 30_000);

  test('past half-life a navigation renews: a new cookie, a full lifetime again, and the count grows', async () => {
    const before = (await authCookie())!;
    clock.advance((TTL / 2 + 1) * 1000);
    await page.goto(`${stack.appUrl}/about`);
    const after = (await authCookie())!;
    // Max-Age counts from the app's clock: the browser, on real time, sees a full lifetime from now (in whole
    // seconds, and the IdP may answer 9 s for a 10-s token).
    expect(after.value).not.toBe(before.value);
    expect(after.expires).toBeGreaterThanOrEqual(before.expires - 2);
    expect(await page.textContent('#renewals')).toBe('1');
    await page.screenshot({ path: `${ARTIFACTS}/about-after-renewal.png`, fullPage: true });
  }, 30_000);

  test('idle past expiry: About sends you to the IdP, whose live session signs you straight back in', async () => {
    clock.advance((TTL + 1) * 1000);
    const idpRequests: string[] = [];
    const track = (req: { url(): string }) => void (req.url().startsWith(stack.idpUrl) && idpRequests.push(req.url()));
    page.on('request', track);
    await page.goto(`${stack.appUrl}/about`);
    await page.waitForURL(`${stack.appUrl}/about`);
    page.off('request', track);
    expect(idpRequests.some((url) => new URL(url).pathname === '/auth')).toBe(true);
    expect(await page.isVisible('input[name=password]')).toBe(false);
    expect(await page.textContent('#renewals')).toBe('0');
  }, 40_000);

  test('sign out: signed out at the app and at the IdP', async () => {
    await page.click('text=Sign out');
    // The IdP asks to confirm ending its session.
    await page.waitForURL((url) => url.origin === new URL(stack.idpUrl).origin);
    await page.click('button[type=submit]');
    await page.waitForURL(`${stack.appUrl}/`);
    await expect(page.textContent('body')).resolves.toContain('You are not signed in');
    expect(await authCookie()).toBeUndefined();
    await page.goto(`${stack.appUrl}/about`);
    expect(await page.isVisible('input[name=password]')).toBe(true);
  }, 30_000);
});
