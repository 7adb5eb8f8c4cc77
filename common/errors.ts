/**
 * The one error hierarchy of the IdP, the app and the API, after oidc-provider's: an error thrown on purpose says what
 * its caller gets — an HTTP status, a stable code, and whether its message is written for the caller or only for the log.
 */
export class ServiceError extends Error {
  readonly status: number = 500;
  /** Stable and machine-readable: an OAuth error code where one applies. */
  readonly code: string = 'server_error';
  /** The message may be shown to the caller; otherwise it goes to the log and the caller gets a generic one. */
  readonly expose: boolean = false;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The base of an error class with a fixed status, code and exposure, so that one line declares it. */
export function errorClass(status: number, code: string, expose = false) {
  return class extends ServiceError {
    override readonly status = status;
    override readonly code = code;
    override readonly expose = expose;
  };
}

/** A service's configuration cannot work: it refuses to start and says which setting to change. */
export class ConfigError extends errorClass(500, 'invalid_configuration') {}

/** A command-line tool was called wrongly: its message is the usage. */
export class UsageError extends errorClass(400, 'usage', true) {}

export interface CallerView {
  status: number;
  code: string;
  /** Present only when the error's message is written for the caller. */
  message?: string;
}

/**
 * What an error handler may tell the caller about anything thrown. Express and its body parsers raise http-errors, whose
 * 4xx are the request's fault; anything else that is not ours is a bug: 500, nothing shown.
 */
export function callerView(error: unknown): CallerView {
  if (error instanceof ServiceError) return { status: error.status, code: error.code, ...(error.expose ? { message: error.message } : {}) };
  const status = (error as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) return { status, code: 'invalid_request' };
  return { status: 500, code: 'server_error' };
}
