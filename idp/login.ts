import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { type Provider, errors } from 'oidc-provider';
import { callerView, errorClass } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { AccountStore } from './accounts.js';
import { firstPartyGrant } from './consent.js';
import type { LoginThrottle } from './throttle.js';
import { renderView } from './views.js';

/** Same words for an unknown user and a wrong password: the page must not reveal which usernames exist. */
export const INVALID_CREDENTIALS = 'Invalid username or password';

/** Also the same for every username: a throttled attempt is refused before the password is even looked at. */
export const tooManyAttempts = (seconds: number) => `Too many attempts. Try again in ${seconds} s.`;

/** The interaction cookie is missing or names another interaction: an old tab, a replayed form, a cross-site post. */
export class UnknownInteractionError extends errorClass(400, 'interaction_expired') {}

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The login step oidc-provider hands over to us. No CSRF token is needed on the form: the interaction
 * cookie is SameSite=Lax and path-bound to this interaction, so a cross-site POST finds no interaction.
 */
export function interactionRoutes(provider: Provider, accounts: AccountStore, throttle: LoginThrottle, logger: Logger): express.Router {
  const router = express.Router();
  router.use('/interaction', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.get('/interaction/:uid', async (req, res) => {
    const interaction = await findInteraction(provider, req, res);
    if (interaction.prompt.name !== 'login') return finishConsent(provider, req, res, interaction);
    await showLogin(res, 200, interaction, '');
  });

  router.post('/interaction/:uid/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const interaction = await findInteraction(provider, req, res);
    if (interaction.prompt.name !== 'login') return finishConsent(provider, req, res, interaction);
    const username = typeof req.body?.username === 'string' ? req.body.username : '';
    const password = typeof req.body?.password === 'string' ? req.body.password : '';
    const address = req.ip ?? 'unknown';
    const wait = await throttle.attempt(username, address);
    if (wait > 0) {
      // Never the submitted username: people paste their password into it.
      logger.info('login throttled', { address, retryAfterS: wait });
      res.set('Retry-After', String(wait));
      return showLogin(res, 429, interaction, username, tooManyAttempts(wait));
    }
    const accountId = await accounts.authenticate(username, password);
    if (!accountId) {
      logger.info('login failed', { address });
      return showLogin(res, 401, interaction, username, INVALID_CREDENTIALS);
    }
    await throttle.succeeded(username, address);
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
  });

  router.use('/interaction', interactionError(logger));
  return router;
}

async function findInteraction(provider: Provider, req: Request, res: Response): Promise<Interaction> {
  const interaction = await provider.interactionDetails(req, res).catch((error: unknown) => {
    throw error instanceof errors.SessionNotFound ? new UnknownInteractionError(error.error_description ?? error.message, { cause: error }) : error;
  });
  if (interaction.uid !== req.params.uid) throw new UnknownInteractionError('interaction cookie mismatch');
  return interaction;
}

async function showLogin(res: Response, status: number, interaction: Interaction, username: string, error?: string) {
  const client = typeof interaction.params.client_id === 'string' ? interaction.params.client_id : undefined;
  res.status(status).type('html').send(await renderView('login', { uid: interaction.uid, client, username, error }));
}

/** Consent is implied for our first-party clients; should oidc-provider still ask (e.g. prompt=consent), grant and go on. Consent always follows login, so there is a session. */
async function finishConsent(provider: Provider, req: Request, res: Response, interaction: Interaction) {
  const { details } = interaction.prompt;
  const grant = await firstPartyGrant(provider, {
    accountId: interaction.session!.accountId,
    clientId: String(interaction.params.client_id),
    grantId: interaction.grantId,
    scopes: (details.missingOIDCScope as string[] | undefined) ?? [],
    claims: (details.missingOIDCClaims as string[] | undefined) ?? [],
  });
  await provider.interactionFinished(req, res, { consent: { grantId: grant.jti } });
}

/** Expired, malformed (a bad charset, a body too large, an undecodable path: Express's own 4xx) or our fault. */
function interactionError(logger: Logger): ErrorRequestHandler {
  return async (error, _req, res, _next) => {
    const { status } = callerView(error);
    const expired = error instanceof UnknownInteractionError;
    if (status >= 500) logger.error('interaction failed', { error });
    else if (!expired) logger.info('malformed sign-in request', { status, reason: (error as Error).message });
    const [heading, message] = expired
      ? ['Sign-in expired', 'This sign-in page has expired or was already used. Go back to the application and sign in again.']
      : status < 500
        ? ['Sign-in problem', 'The sign-in request could not be read. Go back to the application and sign in again.']
        : ['Something went wrong', 'The sign-in could not be completed. Please try again.'];
    res.status(status).type('html').send(await renderView('message', { heading, message, tone: 'error' }));
  };
}
