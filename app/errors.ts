import { errorClass } from '../common/errors.js';

/** An error that ends a request with a page for the visitor instead of a stack trace: its message is written for them. */
export class PageError extends errorClass(400, 'sign_in_failed', true) {
  readonly heading: string = 'Sign-in problem';
}

/** The visitor's sign-in attempt cannot be completed (bad state, replayed code, access denied…). */
export class SignInError extends PageError {}

/** Network failure, timeout, a 5xx or no OAuth answer at all: the IdP, not the visitor, is at fault. */
export class IdpUnavailableError extends PageError {
  override readonly status = 502;
  override readonly code = 'idp_unavailable';

  /** `sent`: the request may have reached the IdP (it may have acted on it); otherwise the connection was never made. */
  constructor(
    readonly sent: boolean,
    options?: ErrorOptions,
  ) {
    super('The identity provider cannot be reached. Please try again shortly.', options);
  }
}

/** The IdP answered with an OAuth error (`invalid_grant`…): `code` is that error. */
export class IdpRefusalError extends errorClass(400, 'invalid_grant') {
  override readonly code: string;

  constructor(
    code: string,
    readonly description: string | undefined,
    /** The IdP's HTTP status, for the log; none when the error came back through the browser (the callback's `error`). */
    readonly idpStatus: number | undefined,
    options?: ErrorOptions,
  ) {
    super(`the identity provider answered ${code}`, options);
    this.code = code;
  }
}

/** An answer that is neither tokens nor an OAuth error (a proxy's 4xx page, a response mode we do not support): the IdP's part is unknown. */
export class IdpAnswerError extends errorClass(502, 'unexpected_answer') {}

/** An answer arrived but cannot be this session's: it fails validation, lacks tokens or names another user. */
export class UnusableAnswerError extends errorClass(502, 'unusable_answer') {}

/** The IdP's tokens need more cookie than `APP_COOKIE_MAX_BYTES` allows: signing in again cannot help, an administrator must act. */
export class TokensTooLargeError extends PageError {
  override readonly status = 502;
  override readonly code = 'tokens_too_large';
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
  override readonly status = 500;
  override readonly code = 'insecure_request';
  override readonly heading = 'Sign-in needs a secure connection';
}

/** A state-changing request from another site. */
export class ForbiddenError extends PageError {
  override readonly status = 403;
  override readonly code = 'forbidden';
  override readonly heading = 'Not allowed';
}
