import { describe, expect, test } from '@jest/globals';
import { classifyRefreshFailure, halfLife, isExpired, isRetryable, shouldRenew } from '../../app/renewal/policy.js';
import { type AuthSession, type Tokens, sessionFromTokens } from '../../app/session.js';
import { safeReturnTo } from '../../app/sign-in/login.js';
import { IdpAnswerError, IdpUnavailableError, UnusableAnswerError } from '../../app/errors.js';
import { idpError, idpFailure } from '../../app/idp-client.js';

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

describe('classifyRefreshFailure of what idpError made of a failure: by how far the refresh got', () => {
  const network = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) });
  const clientError = (code: string) => Object.assign(new Error('openid-client'), { name: 'ClientError', code });
  test.each([
    ['connection refused', network('ECONNREFUSED'), 'unsent'],
    ['DNS failure', network('ENOTFOUND'), 'unsent'],
    ['connection reset after sending', network('ECONNRESET'), 'unknown'],
    ['a network error openid-client wrapped', Object.assign(new Error('something went wrong', { cause: network('UND_ERR_SOCKET') }), { name: 'ClientError' }), 'unknown'],
    ['socket closed by the other side', network('UND_ERR_SOCKET'), 'unknown'],
    ['timeout', clientError('OAUTH_TIMEOUT'), 'unknown'],
    ["a load balancer's 502/504 page", clientError('OAUTH_RESPONSE_IS_NOT_CONFORM'), 'unknown'],
    ['5xx with an OAuth body', { error: 'server_error', status: 500 }, 'unknown'],
    ['invalid_grant with a 5xx status', { error: 'invalid_grant', status: 503 }, 'unknown'],
    ['temporarily_unavailable', { error: 'temporarily_unavailable', status: 400 }, 'unknown'],
    ['invalid_grant', { error: 'invalid_grant', status: 400 }, 'refused'],
    ['invalid_client', { error: 'invalid_client', status: 401 }, 'refused'],
    ['unauthorized_client', { error: 'unauthorized_client', status: 400 }, 'refused'],
    ['id token with a wrong iss or aud', clientError('OAUTH_JWT_CLAIM_COMPARISON_FAILED'), 'unusable'],
    ['id token out of its time window', clientError('OAUTH_JWT_TIMESTAMP_CHECK_FAILED'), 'unusable'],
    ['malformed token response', clientError('OAUTH_INVALID_RESPONSE'), 'unusable'],
    ['missing tokens or another sub', new UnusableAnswerError('another user'), 'unusable'],
    ['a TypeError of our own', new TypeError("Cannot read properties of undefined (reading 'sub')"), 'bug'],
    ['anything else', new RangeError('oops'), 'bug'],
    ['nothing at all', undefined, 'bug'],
  ])('%s → %s', (_name, error, phase) => {
    expect(classifyRefreshFailure(idpError(error))).toBe(phase);
  });
  test('only the network phases are retried with the same token', () => {
    expect((['unsent', 'unknown', 'refused', 'unusable', 'bug'] as const).filter(isRetryable)).toEqual(['unsent', 'unknown']);
  });
});

describe('sessionFromTokens on renewal', () => {
  const previous: AuthSession = { idToken: 'i', accessToken: 'a', refreshToken: 'r', claims: { sub: 'bob' }, issuedAt: 0, expiresAt: 60_000, renewals: 0 };
  const answer = (claims: Record<string, unknown> | undefined, accessToken = 'a2') =>
    ({ access_token: accessToken, id_token: 'i2', token_type: 'bearer', expires_in: 60, expiresIn: () => 60, claims: () => claims }) as unknown as Tokens;
  test('an id token naming another user is not this session’s answer (OIDC Core §12.2)', () => {
    expect(() => sessionFromTokens(answer({ sub: 'mallory' }), 1000, previous)).toThrow(UnusableAnswerError);
  });
  test('an answer without an access token is unusable', () => {
    expect(() => sessionFromTokens(answer({ sub: 'bob' }, ''), 1000, previous)).toThrow(UnusableAnswerError);
  });
  test('the same user: renewed, the refresh token kept when none came back', () => {
    expect(sessionFromTokens(answer({ sub: 'bob' }), 1000, previous)).toMatchObject({ accessToken: 'a2', refreshToken: 'r', renewals: 1, expiresAt: 61_000 });
  });
  test('the lifetime is the expires_in the IdP sent, whatever real time passed since the answer arrived', () => {
    // openid-client's expiresIn() counts down on the machine's clock: one millisecond after the answer it says 59.
    const aMillisecondLater = { ...answer({ sub: 'bob' }), expiresIn: () => 59 } as unknown as Tokens;
    expect(sessionFromTokens(aMillisecondLater, 1000, previous)).toMatchObject({ issuedAt: 1000, expiresAt: 61_000 });
  });
});

describe('idpError: the IdP unavailable is one error, shown to the visitor as such', () => {
  test('network, timeout and 5xx are the IdP being unavailable', () => {
    expect(idpError(new TypeError('fetch failed'))).toBeInstanceOf(IdpUnavailableError);
    expect(idpError({ code: 'OAUTH_TIMEOUT' })).toBeInstanceOf(IdpUnavailableError);
    expect(idpError({ error: 'server_error', status: 503 })).toMatchObject({ status: 502, code: 'idp_unavailable', expose: true });
  });
  test('an OAuth refusal is not: it carries the OAuth error as its code', () => {
    expect(idpError({ error: 'invalid_grant', status: 400 })).toMatchObject({ code: 'invalid_grant', idpStatus: 400, expose: false });
  });
  test('a page that is no OAuth answer: the IdP unavailable on a 5xx, an unexpected answer otherwise (retried either way)', () => {
    const page = (status: number) => ({ code: 'OAUTH_RESPONSE_IS_NOT_CONFORM', message: 'unexpected response', cause: { status } });
    expect(idpError(page(502))).toBeInstanceOf(IdpUnavailableError);
    expect(idpError(page(429))).toBeInstanceOf(IdpAnswerError);
    expect(classifyRefreshFailure(idpError(page(429)))).toBe('unknown');
  });
  test('an OAuth error that came back through the browser has no HTTP status and is still a refusal', () => {
    expect(idpError({ error: 'access_denied', code: 'OAUTH_AUTHORIZATION_RESPONSE_ERROR' })).toMatchObject({ code: 'access_denied', idpStatus: undefined });
  });
  test('the log line gives the reason: what openid-client said, or the app’s own check', () => {
    expect(idpFailure(idpError({ error: 'invalid_grant', error_description: 'grant request is invalid', status: 400, name: 'ResponseBodyError', message: 'server responded with an error' }))).toMatchObject({
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
      status: 400,
    });
    expect(idpFailure(new UnusableAnswerError('the refreshed id token names another user (sub eve)')).reason).toBe('UnusableAnswerError: the refreshed id token names another user (sub eve)');
  });
  test('what it does not recognise is returned as it is', () => {
    const bug = new RangeError('oops');
    expect(idpError(bug)).toBe(bug);
  });
});

describe('safeReturnTo: judged on what goes into Location', () => {
  test.each([
    ['/about', '/about'],
    ['/about?tab=1#x', '/about?tab=1#x'],
    ['/a/b/../c', '/a/c'],
    ['/%2Fevil.example', '/%2Fevil.example'], // an encoded slash stays a path segment
    ['/caf\u00e9', '/caf%C3%A9'],
  ])('kept: %p → %p', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });

  test.each([
    'https://evil.example/',
    'http://return-to.invalid/x', // absolute, even on the placeholder origin
    '//evil.example/path',
    '/\\evil.example',
    '\\/evil.example',
    '/.//evil.example',
    '/%2e//evil.example',
    '/%2E//evil.example',
    '/a/..//evil.example',
    '/a/%2e%2e//evil.example',
    '/./\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '\t//evil.example',
    ' //evil.example',
    '/\\/evil.example',
    '/../../evil.example/..//evil.example',
    'about',
    'javascript:alert(1)',
    '',
  ])('refused: %p → /', (input) => {
    expect(safeReturnTo(input)).toBe('/');
  });

  test.each([undefined, null, 42, ['/a', '/b'], { toString: () => '/a' }])('not a string: %p → /', (input) => {
    expect(safeReturnTo(input)).toBe('/');
  });

  test('whatever comes in, what goes out resolves to our own origin in a browser', () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261130);
    console.log(`safeReturnTo fuzz seed ${seed} (FUZZ_SEED to replay)`);
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pieces = ['/', '//', '\\', '.', '..', '%2e', '%2E', '%2f', '%5c', '\t', '\n', ' ', '@', ':', 'evil.example', 'a', '?', '#', '\uff0f', '\u2215', '%00'];
    for (let i = 0; i < 5000; i++) {
      const input = '/' + Array.from({ length: 1 + Math.floor(random() * 6) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      const out = safeReturnTo(input);
      expect({ input, origin: new URL(out, 'https://app.example').origin }).toEqual({ input, origin: 'https://app.example' });
      expect(out.startsWith('//') || out.startsWith('/\\')).toBe(false);
    }
  });
});
