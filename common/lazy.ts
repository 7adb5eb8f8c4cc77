/** A resource made on first use and shared; a failed attempt is forgotten, so the next caller tries again (the IdP may be up by then). */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
