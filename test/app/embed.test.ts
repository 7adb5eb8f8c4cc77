import { afterAll, beforeAll, expect, test } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { requireAuth } from '../../app/renewal/middleware.js';
import { type BffAuth, createBffAuth } from '../../app/bff.js';
import { PageError } from '../../app/errors.js';
import { silentLogger } from '../../common/log.js';
import { startTestIdp, type TestIdp } from '../helpers/idp.js';
import { signIn, testAppConfig, testClock } from '../helpers/app.js';

let idp: TestIdp;
let bff: BffAuth;
const clock = testClock();
const host = express();

beforeAll(async () => {
  idp = await startTestIdp();
  // Another Express app with its own options: browser-session cookies and its own pages and error page.
  bff = await createBffAuth(testAppConfig(idp, { cookieMode: 'session' }), { now: clock.now, logger: silentLogger });
  host.use(bff.router);
  host.get('/dashboard', requireAuth, (req, res) => void res.json({ hello: req.auth!.user.name, renewals: req.auth!.renewals }));
  host.use(((error, _req, res, _next) => void res.status(error instanceof PageError ? error.status : 500).json({ error: error.message })) as express.ErrorRequestHandler);
});
afterAll(async () => {
  await bff.close();
  await idp.close();
});

test('another Express app mounts the BFF router and guards its own routes with requireAuth', async () => {
  expect((await request(host).get('/dashboard')).headers.location).toBe('/login?returnTo=%2Fdashboard');
  const { cookie, response } = await signIn(host, '/dashboard');
  expect(response.headers.location).toBe('/dashboard');
  expect(cookie.attributes.expires).toBeUndefined();
  expect((await request(host).get('/dashboard').set('Cookie', cookie.pair)).body).toEqual({ hello: 'Bob Smith', renewals: 0 });
  clock.advance(31_000);
  expect((await request(host).get('/dashboard').set('Cookie', cookie.pair)).body).toEqual({ hello: 'Bob Smith', renewals: 1 });
  expect((await request(host).get('/signin-oidc?code=x&state=y')).status).toBe(400);
});
