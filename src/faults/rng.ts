// Seeded randomness. Every draw is derived from (seed, what it is for), never from a shared sequence, so
// the toxics a connection gets do not depend on how the connections' events happened to interleave.

/** mulberry32: a tiny 32-bit PRNG, plenty for jitter and coin flips, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the parts, to derive independent seeds from one proxy seed. */
export function deriveSeed(...parts: Array<string | number>): number {
  let hash = 0x811c9dc5;
  const text = parts.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** One uniform draw in [0, 1) for this purpose; the same arguments always give the same value. */
export function draw(...parts: Array<string | number>): number {
  return mulberry32(deriveSeed(...parts))();
}
