import { errorClass } from '../../common/errors.js';

/** What the API knows about a valid access token, whichever way it was validated. */
export interface TokenInfo {
  sub: string;
  clientId?: string;
  scope: string[];
  /** Epoch seconds. */
  exp: number;
  claims: Record<string, unknown>;
}

/** The token is unknown, revoked, expired or for someone else: 401 `invalid_token`; the reason goes to the log only. */
export class InvalidTokenError extends errorClass(401, 'invalid_token') {}

/** The IdP could not answer: 503, the client may retry. */
export class ValidationUnavailableError extends errorClass(503, 'temporarily_unavailable') {}

export type ValidateToken = (token: string) => Promise<TokenInfo>;

export function scopeList(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}
