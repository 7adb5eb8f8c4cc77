import * as client from 'openid-client';
import type { Logger } from '../../common/log.js';
import { type IdpClient, idpError, idpFailure } from '../idp-client.js';
import { classifyRefreshFailure, isRetryable } from './policy.js';
import { type AuthSession, sessionFromTokens } from '../session.js';
import type { RenewalOutcome } from './store.js';

export type Refresh = (session: AuthSession) => Promise<RenewalOutcome>;

/** One refresh_token grant, its failures turned into outcomes: it never throws. */
export function createRefresh(idp: IdpClient, now: () => number, logger: Logger): Refresh {
  return async (session) => {
    if (!session.refreshToken) return { kind: 'refused', reason: 'no refresh token' };
    try {
      const configuration = await idp.configuration();
      const sentAt = now();
      const tokens = await client.refreshTokenGrant(configuration, session.refreshToken);
      return { kind: 'renewed', session: sessionFromTokens(tokens, sentAt, session) };
    } catch (thrown) {
      const error = idpError(thrown);
      const phase = classifyRefreshFailure(error);
      const failure = idpFailure(error);
      const fields = { phase, ...failure, sub: session.claims.sub };
      if (phase === 'bug') logger.error('token refresh failed: programming error', { ...fields, stack: (error as Error | undefined)?.stack });
      else if (phase === 'unusable') logger.warn('security event: refresh answer rejected', fields);
      else logger.warn('token refresh failed', fields);
      return { kind: isRetryable(phase) ? 'transient' : 'refused', reason: failure.reason };
    }
  };
}
