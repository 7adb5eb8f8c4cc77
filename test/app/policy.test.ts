import { describe, expect, test } from '@jest/globals';
import { classifyRefreshFailure, halfLife, isExpired, shouldRenew } from '../../app/renewal.js';
import { safeReturnTo } from '../../app/login.js';
import { isIdpUnavailable } from '../../app/errors.js';

describe('shouldRenew', () => {
  const issuedAt = 1_000_000;
  const expiresAt = issuedAt + 60_000;

  test('half-life is the midpoint of the lifetime', () => {
    expect(halfLife(issuedAt, expiresAt)).toBe(issuedAt + 30_000);
  });
  test('before half-life: no renewal', () => {
    expect(shouldRenew(issuedAt, issuedAt, expiresAt)).toBe(false);
    expect(shouldRenew(issuedAt + 29_999, issuedAt, expiresAt)).toBe(false);
  });
  test('at and past half-life: renewal', () => {
    expect(shouldRenew(issuedAt + 30_000, issuedAt, expiresAt)).toBe(true);
    expect(shouldRenew(issuedAt + 59_999, issuedAt, expiresAt)).toBe(true);
  });
  test('expiry is inclusive of the expiry instant', () => {
    expect(isExpired(expiresAt - 1, expiresAt)).toBe(false);
    expect(isExpired(expiresAt, expiresAt)).toBe(true);
  });
});

describe('classifyRefreshFailure', () => {
  test.each([
    ['invalid_grant', 400],
    ['invalid_client', 401],
    ['unauthorized_client', 400],
  ])('%s from the IdP is a refusal', (error, status) => {
    expect(classifyRefreshFailure({ error, status })).toBe('refused');
  });
  test.each([
    ['network error', new TypeError('fetch failed')],
    ['timeout', Object.assign(new Error('operation timed out'), { code: 'OAUTH_TIMEOUT' })],
    ['5xx with an OAuth body', { error: 'server_error', status: 500 }],
    ['invalid_grant with a 5xx status', { error: 'invalid_grant', status: 503 }],
    ['other OAuth error', { error: 'invalid_request', status: 400 }],
    ['nothing at all', undefined],
  ])('%s is transient', (_name, error) => {
    expect(classifyRefreshFailure(error)).toBe('transient');
  });
});

describe('isIdpUnavailable', () => {
  test('network, timeout and 5xx are the IdP being unavailable', () => {
    expect(isIdpUnavailable(new TypeError('fetch failed'))).toBe(true);
    expect(isIdpUnavailable({ code: 'OAUTH_TIMEOUT' })).toBe(true);
    expect(isIdpUnavailable({ code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', cause: { status: 502 } })).toBe(true);
  });
  test('an OAuth refusal is not', () => {
    expect(isIdpUnavailable({ error: 'invalid_grant', status: 400 })).toBe(false);
  });
});

describe('safeReturnTo', () => {
  test.each([
    ['/about', '/about'],
    ['/about?tab=1#x', '/about?tab=1#x'],
    ['https://evil.example/', '/'],
    ['//evil.example/path', '/'],
    ['/\\evil.example', '/'],
    ['about', '/'],
    ['javascript:alert(1)', '/'],
    [undefined, '/'],
    [['/a', '/b'], '/'],
  ])('%p → %p', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });
});
