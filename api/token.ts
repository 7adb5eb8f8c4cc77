/** What the API knows about a valid access token, whichever way it was validated. */
export interface TokenInfo {
  sub: string;
  clientId?: string;
  scope: string[];
  /** Epoch seconds. */
  exp: number;
  claims: Record<string, unknown>;
}

/** The token is missing, unknown, revoked or expired: 401 `invalid_token`. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** The IdP could not answer: 503, the client may retry. */
export class ValidationUnavailableError extends Error {
  override name = 'ValidationUnavailableError';
}

export type ValidateToken = (token: string) => Promise<TokenInfo>;

export function scopeList(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}
