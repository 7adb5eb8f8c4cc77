import { describe, expect, test } from '@jest/globals';
import { ConfigError, ServiceError, UsageError, callerView, errorClass } from '../../common/errors.js';
import { InvalidTokenError } from '../../api/validation/token.js';
import { IdpUnavailableError, SignInError } from '../../app/errors.js';
import { UnknownInteractionError } from '../../idp/login.js';

describe('one error hierarchy', () => {
  test('every service’s errors are ServiceErrors named after their class', () => {
    for (const error of [new ConfigError('x'), new UsageError('x'), new InvalidTokenError('x'), new SignInError('x'), new IdpUnavailableError(true), new UnknownInteractionError('x')]) {
      expect(error).toBeInstanceOf(ServiceError);
      expect(error.name).toBe(error.constructor.name);
    }
  });

  test('a class made with errorClass carries its status, code and exposure', () => {
    class Gone extends errorClass(410, 'gone', true) {}
    expect(new Gone('it went')).toMatchObject({ name: 'Gone', status: 410, code: 'gone', expose: true, message: 'it went' });
  });
});

describe('callerView: what a handler may tell the caller', () => {
  test('an exposed error: its status, code and message', () => {
    expect(callerView(new SignInError('Please sign in again.'))).toEqual({ status: 400, code: 'sign_in_failed', message: 'Please sign in again.' });
  });

  test('an error for the log only: status and code, no message', () => {
    expect(callerView(new InvalidTokenError('the access token is for another audience (x)'))).toEqual({ status: 401, code: 'invalid_token' });
  });

  test('a 4xx that Express or a body parser raised is the request’s fault, its message kept back', () => {
    expect(callerView(Object.assign(new Error('request entity too large'), { status: 413 }))).toEqual({ status: 413, code: 'invalid_request' });
  });

  test('anything else is a bug: 500, nothing shown', () => {
    for (const thrown of [new TypeError('x is undefined'), Object.assign(new Error('upstream'), { status: 502 }), 'a string', undefined]) {
      expect(callerView(thrown)).toEqual({ status: 500, code: 'server_error' });
    }
  });
});
