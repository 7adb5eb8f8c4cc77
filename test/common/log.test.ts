import { describe, expect, test } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { createLogger, safeFields } from '../../common/log.js';

const TOKEN = 'rt-0123456789abcdef';
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLXZhbHVl';

const logged = (fields: Record<string, unknown>, level: 'debug' | 'info' = 'info') => {
  const lines: string[] = [];
  createLogger('test', 'debug', (line) => lines.push(line))[level]('something happened', fields);
  expect(lines).toHaveLength(1);
  return { line: lines[0]!, entry: JSON.parse(lines[0]!) as Record<string, unknown> };
};

describe('logs fail closed (pino)', () => {
  test('one JSON line: time, level, service, msg and the plain fields', () => {
    const { entry } = logged({ sub: 'bob', status: 401, ok: false, nothing: null });
    expect(entry).toMatchObject({ level: 'info', service: 'test', msg: 'something happened', sub: 'bob', status: 401, ok: false, nothing: null });
    expect(Date.parse(entry.time as string)).not.toBeNaN();
  });

  test('a refresh token nested deep is not printed, whatever the key above it', () => {
    const deep = { a: { b: { c: { d: { e: { refresh_token: TOKEN, note: TOKEN } } } } } };
    const { line } = logged({ response: deep, list: [[[[{ value: TOKEN }]]]] });
    expect(line).not.toContain(TOKEN);
  });

  test('secret-looking keys are redacted at any depth, and so is anything shaped like a JWT', () => {
    const { line, entry } = logged({ refresh_token: TOKEN, Cookie: TOKEN, nested: { client_secret: TOKEN, password: TOKEN }, detail: JWT, shallow: { id_token: JWT } });
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(JWT.split('.')[1]);
    expect(entry.refresh_token).toBe('[redacted]');
    expect(entry.detail).toBe('[redacted]');
  });

  test('unknown objects are dropped: class instances, buffers, maps, functions', () => {
    class Request {
      headers = { authorization: `Bearer ${TOKEN}` };
      body = TOKEN;
    }
    const { line, entry } = logged({ req: new Request(), buffer: Buffer.from(TOKEN), map: new Map([['t', TOKEN]]), fn: () => TOKEN });
    expect(line).not.toContain(TOKEN);
    expect(entry).toMatchObject({ req: '[dropped]', buffer: '[dropped]', map: '[dropped]', fn: '[dropped]' });
  });

  test('errors are reduced to name, message, code and the OAuth error fields', () => {
    const error = Object.assign(new Error('invalid_grant (grant request is invalid)'), {
      code: 'OAUTH_RESPONSE_BODY_ERROR',
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
      status: 400,
      response: { body: { refresh_token: TOKEN } },
      cause: new Error(TOKEN),
    });
    const { line, entry } = logged({ error });
    expect(entry.error).toEqual({
      name: 'Error',
      message: 'invalid_grant (grant request is invalid)',
      code: 'OAUTH_RESPONSE_BODY_ERROR',
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
      status: 400,
    });
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain('stack');
  });

  test('an error made in another realm (a worker thread, a vm context) is still logged as an error', () => {
    const error = runInNewContext('Object.assign(new Error("unable to open database file"), { code: "ERR_SQLITE_ERROR" })') as unknown;
    expect(error instanceof Error).toBe(false); // what the logger is up against
    expect(logged({ error }).entry.error).toEqual({ name: 'Error', message: 'unable to open database file', code: 'ERR_SQLITE_ERROR' });
  });

  test('shallow plain objects and arrays of scalars stay readable', () => {
    expect(safeFields({ sizes: { bytes: 5000, maxBytes: 4096 }, scopes: ['openid', 'profile'] })).toEqual({ sizes: { bytes: 5000, maxBytes: 4096 }, scopes: ['openid', 'profile'] });
  });

  test('below the level nothing is written', () => {
    const lines: string[] = [];
    createLogger('test', 'warn', (line) => lines.push(line)).info('quiet', {});
    expect(lines).toEqual([]);
  });
});
