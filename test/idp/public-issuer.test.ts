import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { authorizationRequest, startTestIdp, type TestIdp } from '../helpers/idp.js';
import { SignInError, signInAtIdp } from '../helpers/sign-in.js';

let idp: TestIdp;
beforeAll(async () => {
  idp = await startTestIdp({ issuer: 'https://id.example.com' });
});
afterAll(async () => {
  await idp.close();
});

test('an IdP with a public issuer has no built-in bob: without an accounts file nobody signs in', async () => {
  await expect(signInAtIdp((await authorizationRequest(idp)).url)).rejects.toThrow(SignInError);
});
