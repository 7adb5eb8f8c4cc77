import type Provider from 'oidc-provider';
import { type KoaContextWithOIDC, errors } from 'oidc-provider';
// oidc-provider exposes no public way to wrap a built-in grant: its handler is read from the provider's internals, once.
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import type { Logger } from '../../common/log.js';
import { openWith, sealWith, sealingKey } from '../../common/sealed.js';
import { RefreshRaceError, entryKey, sha256 } from '../store/adapter.js';
import type { StoreBackend, StoredEntry } from '../store/backend.js';

/** The store kind of a recorded answer: `RefreshAnswer:<sha256(old refresh token)>`. */
export const ANSWER_KIND = 'RefreshAnswer';

export interface RefreshGraceOptions {
  /** Seconds after its first use during which a rotated refresh token of this client gets its first answer again; 0 turns it off. */
  graceFor: (clientId: string) => number;
  store: StoreBackend;
  logger: Logger;
  now?: () => number;
  /**
   * How long a presenter waits for the answer another request (here or on another instance) is still producing; an
   * answer missing this long after its token was used counts as lost (a rotation is a few store writes: milliseconds).
   */
  waitMs?: number;
  /** Between two looks at the store while waiting. */
  pollMs?: number;
}

/** What makes two refresh requests "the same request", read as they arrive (the grant handler fills in defaults later). */
const shapes = new WeakMap<KoaContextWithOIDC, string>();
const requestShape = (ctx: KoaContextWithOIDC) => {
  if (!shapes.has(ctx)) shapes.set(ctx, JSON.stringify([ctx.oidc.params?.scope ?? null, ctx.oidc.params?.resource ?? null, ctx.get('DPoP') ? 'dpop' : null]));
  return shapes.get(ctx)!;
};

interface TokenAnswer {
  /** requestShape() of the first request. */
  shape: string;
  body: Record<string, unknown> & { refresh_token: string };
  /** Epoch ms: `expires_in` is counted again from the moment of each replay. */
  accessExpiresAt: number;
}

type Handler = (ctx: KoaContextWithOIDC) => Promise<void>;
type Internals = { grantTypeHandlers: Map<string, Handler>; grantTypeParams: Map<string, Set<string>>; grantTypeDupes: Map<string, Set<string>> };

/**
 * Idempotent rotation: a refresh token presented again by the same client within the window, while its grant and
 * successor are alive, gets the same answer as the first time instead of a second branch of the chain — so a lost,
 * slow or duplicated refresh never revokes the grant. Outside the window, reuse revokes the grant as oidc-provider does.
 * The answer is stored sealed with a key derived from the old token, under its hash: a copy of the store opens nothing.
 */
export function enableRefreshGrace(provider: Provider, options: RefreshGraceOptions): void {
  const { graceFor, store, logger, now = Date.now, waitMs = 2000, pollMs = 50 } = options;
  const internals = instance(provider) as Internals;
  const rotate = internals.grantTypeHandlers.get('refresh_token');
  if (!rotate) return;
  // Presenters of one token in this process queue behind each other, so the first answer is recorded before the next looks.
  const flights = new Map<string, Promise<unknown>>();

  const sealKey = (token: string) => sealingKey(token, 'refresh-answer');

  /**
   * Answers from the recorded first answer when every condition holds. `absent`: nothing recorded (yet);
   * `refused`: recorded, but this presentation does not qualify — oidc-provider then treats it as reuse.
   */
  const replay = async (ctx: KoaContextWithOIDC, token: string): Promise<'answered' | 'absent' | 'refused'> => {
    const record = await store.get(entryKey(ANSWER_KIND, token));
    if (!record || (record.expiresAt ?? 0) <= now()) return 'absent';
    const client = ctx.oidc.client!.clientId;
    if (record.clientId !== client) {
      logger.warn('refresh token presented by another client', { client, owner: record.clientId, grantId: record.grantId });
      return 'refused';
    }
    const answer = openWith([sealKey(token)], String(record.payload.sealed)) as TokenAnswer | undefined;
    if (!answer) return 'refused';
    // Another scope, resource or a DPoP proof (bound to a key we would not check) is another request: refused, grant kept.
    if (answer.shape !== requestShape(ctx) || ctx.get('DPoP')) {
      throw new errors.InvalidGrant('refresh token already used; only the same request is answered again');
    }
    const [grant, successor] = await Promise.all([
      provider.Grant.find(record.grantId!),
      provider.RefreshToken.find(answer.body.refresh_token, { ignoreExpiration: true }),
    ]);
    // A revoked grant (operator, logout, earlier reuse) took its tokens with it: never resurrect it.
    if (!grant || !successor || successor.isExpired) return 'refused';
    if (successor.consumed) {
      logger.warn('refresh token reused after its successor was used', { client, grantId: record.grantId });
      return 'refused';
    }
    ctx.body = { ...answer.body, expires_in: Math.max(0, Math.round((answer.accessExpiresAt - now()) / 1000)) };
    logger.info('refresh answered again within the reuse grace window', { client, grantId: record.grantId });
    return 'answered';
  };

  /** Waits, until `waitMs` after `since`, for the answer another request is still producing; real time, whatever the clock says. */
  const awaitAnswer = async (ctx: KoaContextWithOIDC, token: string, since: number) => {
    let found: Awaited<ReturnType<typeof replay>> = 'absent';
    for (let left = waitMs - (now() - since); found === 'absent' && left > 0; left -= pollMs) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      found = await replay(ctx, token);
    }
    return found;
  };

  const record = async (ctx: KoaContextWithOIDC, token: string, graceS: number) => {
    const body = ctx.body as TokenAnswer['body'] | undefined;
    const grantId = ctx.oidc.entities.RotatedRefreshToken?.grantId;
    if (!body || typeof body.refresh_token !== 'string' || body.refresh_token === token || !grantId) return;
    const at = now();
    const answer: TokenAnswer = { shape: requestShape(ctx), body, accessExpiresAt: at + Number(body.expires_in ?? 0) * 1000 };
    const clientId = ctx.oidc.client!.clientId;
    const entry: StoredEntry = { kind: ANSWER_KIND, payload: { clientId, sealed: sealWith(sealKey(token), answer) }, grantId, clientId, expiresAt: at + graceS * 1000 };
    // The caller gets its tokens even when the record cannot be kept: only a retry would then be refused.
    await store.put(entryKey(ANSWER_KIND, token), entry).catch((error: unknown) => logger.error('could not record a refresh answer', { error, grantId }));
  };

  /** Used within the window, yet no answer recorded: another instance is still producing it, or the IdP died between the two writes. */
  const recoverUnanswered = async (ctx: KoaContextWithOIDC, token: string, graceS: number) => {
    const key = entryKey('RefreshToken', token);
    const used = await store.get(key);
    if (used?.consumedAt === undefined || used.clientId !== ctx.oidc.client!.clientId || now() - used.consumedAt >= graceS * 1000) return 'absent';
    const found = await awaitAnswer(ctx, token, used.consumedAt);
    if (found !== 'absent') return found;
    // Atomic: of several retries one rotates again, the others wait for its answer; a token revoked meanwhile stays gone.
    if (!(await store.unconsume(key, used.consumedAt))) {
      const theirs = await awaitAnswer(ctx, token, now());
      if (theirs === 'absent') throw new errors.TemporarilyUnavailable('a retried refresh of this token has not finished; retry');
      return theirs;
    }
    logger.warn('refresh answer lost before it was recorded: rotating again', { client: used.clientId, grantId: used.grantId });
    return 'absent';
  };

  const refreshOnce = async (ctx: KoaContextWithOIDC, token: string, graceS: number) => {
    let found = await replay(ctx, token);
    if (found === 'absent') found = await recoverUnanswered(ctx, token, graceS);
    if (found === 'answered') return;
    try {
      await rotate(ctx);
    } catch (error) {
      if (!(error instanceof RefreshRaceError)) throw error;
      if ((await awaitAnswer(ctx, token, now())) === 'answered') return;
      throw new errors.TemporarilyUnavailable('a concurrent refresh of this token has not finished; retry');
    }
    await record(ctx, token, graceS);
  };

  const withGrace: Handler = async (ctx) => {
    const token = ctx.oidc.params?.refresh_token;
    const graceS = graceFor(ctx.oidc.client!.clientId);
    if (typeof token !== 'string' || graceS <= 0) return rotate(ctx);
    requestShape(ctx); // remembered now, before oidc-provider fills in its defaults
    const id = sha256(token);
    const mine = (flights.get(id) ?? Promise.resolve()).catch(() => {}).then(() => refreshOnce(ctx, token, graceS));
    flights.set(id, mine);
    try {
      await mine;
    } finally {
      if (flights.get(id) === mine) flights.delete(id);
    }
  };

  provider.registerGrantType('refresh_token', withGrace, internals.grantTypeParams.get('refresh_token'), internals.grantTypeDupes.get('refresh_token'));
}
