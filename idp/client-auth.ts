import Provider, { errors } from 'oidc-provider';

/**
 * oidc-provider takes a client secret from the Authorization header or from the form whichever of the two the client
 * registered (it treats client_secret_basic and client_secret_post as one). Here a client authenticates only the way
 * it registered: a secret seen in the other place is refused like a wrong one. Every endpoint that checks a secret
 * (token, introspection, revocation) goes through compareClientSecret, with the request in Provider.ctx.
 */
export function requireRegisteredAuthMethod(provider: Provider): void {
  const prototype = provider.Client.prototype;
  const compare = prototype.compareClientSecret;
  prototype.compareClientSecret = function (this: InstanceType<Provider['Client']>, secret: string) {
    const used = Provider.ctx?.headers.authorization === undefined ? 'client_secret_post' : 'client_secret_basic';
    if (used !== this.clientAuthMethod) throw new errors.InvalidClientAuth(`the client authenticates with ${this.clientAuthMethod}, not ${used}`);
    return compare.call(this, secret);
  };
}
