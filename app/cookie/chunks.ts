/**
 * A sealed value too long for one cookie, spread over `auth`, `auth.1`, `auth.2`, …: the first cookie says how many
 * there are (`3.<piece>`), so leftovers of a longer value are ignored, and the pieces join into the one sealed value
 * whose AEAD tag covers them all — a missing, reordered, duplicated or foreign piece fails to open.
 * A value that fits one cookie is written whole, without a count (sealed values never contain a dot).
 */

/** Chunk `index` of the cookie `name`: the name itself for the first. */
export function chunkName(name: string, index: number): string {
  return index === 0 ? name : `${name}.${index}`;
}

/** The index of a chunk cookie after the first (`auth.2` → 2), undefined for any other name (`auth.tx` included). */
export function chunkIndex(name: string, cookieName: string): number | undefined {
  if (!name.startsWith(`${cookieName}.`)) return undefined;
  const index = Number(name.slice(cookieName.length + 1));
  return Number.isInteger(index) && index > 0 ? index : undefined;
}

/** Cookie values in chunk order: `value` whole when it is at most `whole` characters, else pieces of at most `piece`. */
export function splitValue(value: string, whole: number, piece: number): string[] {
  if (value.length <= whole) return [value];
  const pieces: string[] = [];
  for (let at = 0; at < value.length; at += piece) pieces.push(value.slice(at, at + piece));
  pieces[0] = `${pieces.length}.${pieces[0]}`;
  return pieces;
}

/** The value again from the first cookie and a lookup of the others; undefined when a counted chunk is missing. */
export function joinValue(first: string, chunk: (index: number) => string | undefined): string | undefined {
  const dot = first.indexOf('.');
  if (dot < 0) return first;
  const count = Number(first.slice(0, dot));
  if (!Number.isInteger(count) || count < 2) return undefined;
  const pieces = [first.slice(dot + 1)];
  for (let index = 1; index < count; index += 1) {
    const piece = chunk(index);
    if (!piece) return undefined;
    pieces.push(piece);
  }
  return pieces.join('');
}
