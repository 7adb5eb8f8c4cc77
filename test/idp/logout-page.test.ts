import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type TestIdp, browserCodeFlow, discover, startTestIdp } from '../helpers/idp.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.close();
});

const POST_LOGOUT = 'http://localhost:3000/';

test('signing out when the IdP session is already gone: a readable page without script, one click back to the app', async () => {
  const { tokens } = await browserCodeFlow(idp);
  const endSession = new URL(String((await discover(idp)).end_session_endpoint));
  endSession.search = new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: POST_LOGOUT, state: 'st-1' }).toString();
  // No IdP cookies: the session ended elsewhere (another tab, its cap, a restart on a memory store).
  const page = await fetch(endSession, { redirect: 'manual' });
  const html = await page.text();
  expect(page.status).toBe(200);
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain('<h1>Signed out</h1>');
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  expect(action).toMatch(/\/session\/end\/confirm$/);
  expect(html).toMatch(/<button type="submit"[^>]*>/);

  const form = new URLSearchParams([...html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)].map(([, name, value]) => [name!, value!] as [string, string]));
  const cookie = page.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  const back = await fetch(new URL(action!, endSession), { method: 'POST', redirect: 'manual', headers: { cookie }, body: form });
  expect(back.status).toBe(303);
  expect(back.headers.get('location')).toBe(`${POST_LOGOUT}?state=st-1`);
});

test('a sign-out request the IdP cannot honour ends on a readable sign-out error page', async () => {
  const endSession = new URL(String((await discover(idp)).end_session_endpoint));
  endSession.search = new URLSearchParams({ id_token_hint: 'not-a-jwt', post_logout_redirect_uri: POST_LOGOUT }).toString();
  const page = await fetch(endSession, { redirect: 'manual', headers: { accept: 'text/html' } });
  const html = await page.text();
  expect(page.status).toBe(400);
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain('<h1>Sign-out problem</h1>');
});
