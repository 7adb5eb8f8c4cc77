/** The one oidc-provider internal we read (refresh-grace.ts): the per-provider state holding its grant handlers. */
declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  const instance: (provider: object) => unknown;
  export default instance;
}
