import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { type TestClock, testClock } from '../helpers/app.js';
import { chromiumSuite, launchChromium, newPage, signInPage, submitLogin } from '../helpers/chromium.js';
import { type Stack, startStack } from '../helpers/stack.js';

const ARTIFACTS = 'test-artifacts/e2e';
const TTL = 10;

/**
 * The app's clock moves instead of the test sleeping: the browser's cookie jar and the IdP keep real time.
 * Each test has its own stack, clock and browser context, so any one runs alone.
 */
chromiumSuite('the browser end-to-end tests')('in a real browser (10-second tokens, the app clock moved)', () => {
  let browser: Browser;
  let clock: TestClock;
  let stack: Stack;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    clock = testClock();
    stack = await startStack({ tokenTtl: TTL, now: clock.now });
    page = await newPage(browser);
  }, 30_000);
  afterEach(async () => {
    await page?.context().close();
    await stack?.close();
  });

  const authCookie = async () => (await page.context().cookies(stack.appUrl)).find((cookie) => cookie.name === 'auth');

  test('wrong password: a clear message, no sign-in', async () => {
    await page.goto(`${stack.appUrl}/about`);
    await submitLogin(page, { username: 'bob', password: 'wrong' });
    await expect(page.textContent('body')).resolves.toContain('Invalid username or password');
    expect(await authCookie()).toBeUndefined();
  }, 30_000);

  test('anonymous About → login page → bob / secret → About shows bob', async () => {
    await page.goto(`${stack.appUrl}/about`);
    expect(new URL(page.url()).origin).toBe(new URL(stack.idpUrl).origin);
    await page.screenshot({ path: `${ARTIFACTS}/login.png` });
    await submitLogin(page);
    await page.waitForURL(`${stack.appUrl}/about`);
    await expect(page.textContent('body')).resolves.toContain('Bob');
    expect(await page.textContent('#renewals')).toBe('0');
    expect(await page.textContent('#api')).toContain('"sub": "bob"');
    await page.screenshot({ path: `${ARTIFACTS}/about-before-renewal.png`, fullPage: true });
  }, 30_000);

  test('past half-life a navigation renews: a new cookie, a full lifetime again, and the count grows', async () => {
    await signInPage(page, stack.appUrl);
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
    await signInPage(page, stack.appUrl);
    clock.advance((TTL + 1) * 1000);
    const idpRequests: string[] = [];
    page.on('request', (req) => void (req.url().startsWith(stack.idpUrl) && idpRequests.push(req.url())));
    await page.goto(`${stack.appUrl}/about`);
    await page.waitForURL(`${stack.appUrl}/about`);
    expect(idpRequests.some((url) => new URL(url).pathname === '/auth')).toBe(true);
    expect(await page.isVisible('input[name=password]')).toBe(false);
    expect(await page.textContent('#renewals')).toBe('0');
  }, 40_000);

  test('sign out: signed out at the app and at the IdP', async () => {
    await signInPage(page, stack.appUrl);
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
