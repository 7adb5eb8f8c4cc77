/**
 * Structured JSON logs on pino. What reaches a line fails closed: plain values under keys that do not look secret,
 * errors reduced to what identifies them, shallow plain objects; everything else is dropped, not printed.
 */
import { pino } from 'pino';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

const SECRET_KEY = /token|cookie|secret|password|passwd|authorization|credential|code_verifier|^code$|assertion|jwt|sid$|key$/i;
/** A compact JWS or JWE, whatever key it sits under. */
const JWT_VALUE = /eyJ[\w-]{5,}\.[\w-]{5,}/;
/** Fields, their values, and one level below: deeper than that is dropped. */
const MAX_DEPTH = 2;
const MAX_STRING = 1000;
/** An error's identity; its stack, cause and attached response (which may hold tokens) stay out. */
const ERROR_KEYS = ['name', 'message', 'code', 'error', 'error_description', 'status'] as const;

const isPlain = (value: object) => Array.isArray(value) || [Object.prototype, null].includes(Object.getPrototypeOf(value));

function safeValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return JWT_VALUE.test(value) ? '[redacted]' : value.slice(0, MAX_STRING);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === undefined) return undefined;
  // By its tag too: an error from another realm (a vm context, a worker's error event under jest) fails instanceof.
  if (value instanceof Error || Object.prototype.toString.call(value) === '[object Error]') return safeError(value as Error);
  if (typeof value !== 'object' || !isPlain(value) || depth >= MAX_DEPTH) return '[dropped]';
  if (Array.isArray(value)) return value.map((item) => safeValue(item, depth + 1));
  return safeObject(value as Fields, depth + 1);
}

function safeObject(fields: Fields, depth: number): Fields {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, SECRET_KEY.test(key) ? '[redacted]' : safeValue(value, depth)]));
}

function safeError(error: Error): Fields {
  const fields = error as unknown as Fields;
  const scalars = ERROR_KEYS.filter((key) => ['string', 'number'].includes(typeof fields[key])).map((key) => [key, safeValue(fields[key], MAX_DEPTH)]);
  return Object.fromEntries(scalars);
}

/** What of `fields` may be printed. */
export function safeFields(fields: Fields): Fields {
  return safeObject(fields, 0);
}

export function createLogger(service: string, level: Level = 'info', write: (line: string) => void = (line) => process.stdout.write(line + '\n')): Logger {
  const logger = pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: safeFields },
    },
    { write: (line: string) => write(line.trimEnd()) },
  );
  const emit = (at: Level) => (msg: string, fields: Fields = {}) => logger[at](fields, msg);
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** For tests and embedders that want silence. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
