import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { SignInError, authorizationRequest, browserSignIn, startTestIdp, type TestIdp } from '../helpers/idp.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp({ issuer: 'https://id.example.com' });
});
afterAll(async () => {
  await idp.close();
});

test('an IdP with a public issuer has no built-in bob: without an accounts file nobody signs in', async () => {
  await expect(browserSignIn((await authorizationRequest(idp)).url)).rejects.toThrow(SignInError);
});
