/** Debian's Chromium through playwright-core for the e2e tests, and the sign-in a person does in it (sign-in.ts scripts the same form). */
import { existsSync } from 'node:fs';
import { describe } from '@jest/globals';
import { type Browser, type Page, chromium } from 'playwright-core';
import { BOB, type Credentials } from './sign-in.js';

const CHROMIUM = '/usr/bin/chromium';

/** `describe` where Chromium is installed; elsewhere `describe.skip`, with a warning naming what is skipped. */
export function chromiumSuite(what: string) {
  if (existsSync(CHROMIUM)) return describe;
  console.warn(`SKIPPED: ${what} need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return describe.skip;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A page in a context of its own: no cookie of another test's. */
export async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage();
}

/** The IdP's login form, showing on the page, filled in and sent. */
export async function submitLogin(page: Page, credentials: Credentials = BOB): Promise<void> {
  await page.fill('input[name=username]', credentials.username);
  await page.fill('input[name=password]', credentials.password);
  await page.click('button[type=submit]');
}

/** `returnTo` at the app, the IdP's login form, and back at `returnTo` signed in. */
export async function signInPage(page: Page, appUrl: string, returnTo = '/about', credentials: Credentials = BOB): Promise<void> {
  await page.goto(`${appUrl}${returnTo}`);
  await submitLogin(page, credentials);
  await page.waitForURL(`${appUrl}${returnTo}`);
}
