import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type TestIdp, authorizationRequest, startTestIdp } from '../helpers/idp.js';

/** Hostile or broken requests to the sign-in pages get a 4xx and a readable page, never a 500. */
let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp();
});
afterAll(async () => {
  await idp.close();
});

/** A fresh interaction: its login URL and the cookies that go with it. */
async function interaction() {
  const begin = await fetch((await authorizationRequest(idp)).url, { redirect: 'manual' });
  const cookie = begin.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
  return { loginUrl: new URL(begin.headers.get('location')!, idp.url), cookie };
}

test.each([
  ['an unsupported charset', 'application/x-www-form-urlencoded; charset=utf-7', 'username=bob&password=secret', 415],
  ['a body over 4 KB', 'application/x-www-form-urlencoded', `username=bob&password=${'x'.repeat(5000)}`, 413],
])('a login POST with %s: %i and a page that says so', async (_name, contentType, body, status) => {
  const { loginUrl, cookie } = await interaction();
  const res = await fetch(`${loginUrl.href}/login`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': contentType }, body });
  expect(res.status).toBe(status);
  expect(await res.text()).toContain('could not be read');
});

test('an undecodable interaction id: 400, not 500', async () => {
  const res = await fetch(`${idp.url}/interaction/%ZZ`, { redirect: 'manual' });
  expect(res.status).toBe(400);
});
