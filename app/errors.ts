/** Errors that end a request with a friendly page instead of a stack trace; `status` is what the visitor gets. */
export class PageError extends Error {
  override name = 'PageError';
  readonly status: number = 400;
  readonly heading: string = 'Sign-in problem';
}

/** The visitor's sign-in attempt cannot be completed (bad state, replayed code, access denied…). */
export class SignInError extends PageError {
  override name = 'SignInError';
}

export class IdpUnavailableError extends PageError {
  override name = 'IdpUnavailableError';
  override readonly status = 502;
}

/** The IdP's tokens need more cookie than `APP_COOKIE_MAX_BYTES` allows: signing in again cannot help, an administrator must act. */
export class TokensTooLargeError extends PageError {
  override name = 'TokensTooLargeError';
  override readonly status = 502;
  override readonly heading = 'Sign-in tokens too large';
  /** For the log line: the cookie bytes needed and allowed, and each token's length. */
  readonly sizes: { bytes: number; maxBytes: number; idBytes: number; accessBytes: number; refreshBytes: number };

  constructor(sizes: TokensTooLargeError['sizes']) {
    super(
      `The identity provider sent sign-in tokens too large for this site's cookies (${sizes.bytes} bytes; the limit is ${sizes.maxBytes}). ` +
        "Signing in again will not help: please tell the site's administrator, who can raise APP_COOKIE_MAX_BYTES or have the identity provider issue smaller tokens (fewer claims or groups in them).",
    );
    this.sizes = sizes;
  }
}

/** An https APP_BASE_URL, yet the request reached the app as plain http: the browser would drop the `Secure` cookies and sign-in would loop. */
export class InsecureRequestError extends PageError {
  override name = 'InsecureRequestError';
  override readonly status = 500;
  override readonly heading = 'Sign-in needs a secure connection';
}

/** A state-changing request from another site. */
export class ForbiddenError extends PageError {
  override name = 'ForbiddenError';
  override readonly status = 403;
  override readonly heading = 'Not allowed';
}

const UNAVAILABLE_CODES = new Set(['OAUTH_TIMEOUT', 'OAUTH_ABORT']);

/** Network failure, timeout or a 5xx: the IdP, not the visitor, is at fault (502 rather than 400). */
export function isIdpUnavailable(error: unknown): boolean {
  const { name, code, status, cause } = (error ?? {}) as { name?: string; code?: string; status?: number; cause?: { status?: number; name?: string } };
  // By name: fetch's TypeError may come from another realm, and openid-client then wraps it as a ClientError.
  if (name === 'TypeError' || cause?.name === 'TypeError') return true;
  return UNAVAILABLE_CODES.has(code ?? '') || (status ?? cause?.status ?? 0) >= 500;
}
