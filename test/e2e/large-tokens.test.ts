import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { chunkName, joinValue } from '../../app/cookie/chunks.js';
import { DEFAULT_ACCOUNTS } from '../../idp/accounts.js';
import { openAuthCookie, testClock } from '../helpers/app.js';
import { chromiumSuite, launchChromium, newPage, signInPage } from '../helpers/chromium.js';
import { type Stack, startStack } from '../helpers/stack.js';

/** A name this long makes the id token about 8 KB: with the access and refresh tokens, 8 KB of raw tokens. */
const NAME = 'N'.repeat(5700);

chromiumSuite('the large-token browser tests')('in a real browser: 8 KB of tokens in a chunked cookie', () => {
  const clock = testClock();
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const bob = DEFAULT_ACCOUNTS[0]!;
    stack = await startStack({ tokenTtl: 60, accounts: [{ ...bob, claims: { ...bob.claims, name: NAME } }], now: clock.now });
    browser = await launchChromium();
    page = await newPage(browser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  /** The auth cookies Chromium kept, and the session they join into. */
  const authCookies = async () => {
    const cookies = new Map((await page.context().cookies(stack.appUrl)).map((cookie) => [cookie.name, cookie]));
    const names = [...cookies.keys()].filter((name) => /^auth(\.\d+)?$/.test(name)).sort();
    const first = cookies.get('auth')?.value;
    const value = first && joinValue(first, (index) => cookies.get(chunkName('auth', index))?.value);
    return { names, session: value ? openAuthCookie(value, stack.appConfig.cookieKeys) : undefined };
  };

  test('signs in, keeps all three chunks, renews past half-life and signs out leaving none', async () => {
    await signInPage(page, stack.appUrl);
    const signedIn = await authCookies();
    expect(signedIn.names).toEqual(['auth', 'auth.1', 'auth.2']);
    const { idToken, accessToken, refreshToken } = signedIn.session!;
    expect(idToken.length + accessToken.length + refreshToken!.length).toBeGreaterThanOrEqual(8 * 1024);
    expect(await page.textContent('body')).toContain(NAME);
    expect(await page.textContent('#renewals')).toBe('0');

    clock.advance(31_000);
    await page.goto(`${stack.appUrl}/about`);
    expect(await page.textContent('#renewals')).toBe('1');
    const renewed = await authCookies();
    expect(renewed.names).toEqual(['auth', 'auth.1', 'auth.2']);
    expect(renewed.session).toMatchObject({ renewals: 1, claims: { name: NAME } });
    // 31 s later, a fresh 60-s lifetime (the IdP may count 59 s of it, by its whole-second clock).
    expect(renewed.session!.expiresAt).toBeGreaterThanOrEqual(signedIn.session!.expiresAt + 30_000);

    await page.click('text=Sign out');
    // The IdP asks to confirm ending its session.
    await page.waitForURL((url) => url.origin === new URL(stack.idpUrl).origin);
    await page.click('button[type=submit]');
    await page.waitForURL(`${stack.appUrl}/`);
    expect((await authCookies()).names).toEqual([]);
  }, 60_000);
});
