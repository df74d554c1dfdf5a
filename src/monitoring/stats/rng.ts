// Deterministic generator shared with the Python fixture script, so both sides rebuild identical large samples.

/**
 * 32-bit linear congruential generator (Numerical Recipes constants). Not for statistics quality, only for
 * bit-identical reproduction: every step is exact integer arithmetic in both TypeScript and Python.
 */
export function createLcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/**
 * n values of loc + scale·(u₁+u₂+u₃+u₄ − 2), a bell-shaped (Irwin–Hall) sample. Sums of four exact dyadic
 * fractions avoid libm calls, whose last bit differs between platforms.
 */
export function bellSample(seed: number, n: number, loc: number, scale: number): Float64Array {
  const next = createLcg(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = loc + scale * (next() + next() + next() + next() - 2);
  return out;
}
