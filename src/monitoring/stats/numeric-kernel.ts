// The per-column numeric drift kernel: one sort per side shared by KS, Wasserstein and PSI. Self-contained on
// purpose (no imports, no outer names): worker threads run it from its source text.

/** Slots of a kernel's output, one Float64Array of OUT_SLOTS per column. */
export const OUT_SLOTS = 8;
export const OUT = { n1: 0, n2: 1, dPlus: 2, dMinus: 3, wasserstein: 4, refStd: 5, psi: 6 } as const;

/**
 * Writes into `out` (length 8): non-missing counts n1 and n2, the KS extremes D⁺ and D⁻, the Wasserstein-1
 * distance, the reference's population std, and Evidently's PSI (Sturges bins over the pooled data when the
 * reference has more than 20 distinct values, else one bucket per value; empty buckets filled). The same
 * algorithms as sortedFinite, sweepSorted, meanStd and binnedSharesSorted, bit for bit. Empty sides give NaN.
 */
export function numericDriftKernel(reference: Float64Array, current: Float64Array, out: Float64Array): void {
  function sortFinite(values: Float64Array): Float64Array {
    const n = values.length;
    if (n < 16384) {
      let k = 0;
      const o = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (Number.isFinite(v)) o[k++] = v;
      }
      return (k === n ? o : o.slice(0, k)).sort();
    }
    const RADIX = 65536;
    const MASK = 65535;
    const src = new Int32Array(values.buffer, values.byteOffset, 2 * n);
    const bufA = new Float64Array(n);
    const a = new Int32Array(bufA.buffer);
    const counts = new Int32Array(4 * RADIX);
    let m = 0;
    for (let i = 0; i < n; i++) {
      let lo = src[2 * i]!;
      let hi = src[2 * i + 1]!;
      if ((hi & 0x7ff00000) === 0x7ff00000) continue;
      if (hi < 0) {
        lo = ~lo;
        hi = ~hi;
      } else hi = hi | 0x80000000;
      a[2 * m] = lo;
      a[2 * m + 1] = hi;
      m++;
      counts[lo & MASK]!++;
      counts[RADIX + (lo >>> 16)]!++;
      counts[2 * RADIX + (hi & MASK)]!++;
      counts[3 * RADIX + (hi >>> 16)]!++;
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
        if (c === m) single = true;
        counts[off + d] = sum;
        sum += c;
      }
      if (single) continue;
      const shift = (pass & 1) * 16;
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
      const t = from;
      from = to;
      to = t;
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
  // Neumaier-compensated sums, as CompensatedSum.
  function addComp(state: Float64Array, x: number): void {
    const s = state[0]!;
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) state[1]! += s - t + x;
    else state[1]! += x - t + s;
    state[0] = t;
  }
  function searchSorted(sorted: Float64Array, x: number, right: boolean): number {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = sorted[mid]!;
      if (v < x || (right && v === x)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  function fill(shares: Float64Array): void {
    let min = Number.POSITIVE_INFINITY;
    for (let k = 0; k < shares.length; k++) if (shares[k] !== 0 && shares[k]! < min) min = shares[k]!;
    const eps = min <= 0.0001 ? min / 1e6 : 0.0001;
    for (let k = 0; k < shares.length; k++) if (shares[k] === 0) shares[k] = eps;
  }

  const a = sortFinite(reference);
  const b = sortFinite(current);
  const n1 = a.length;
  const n2 = b.length;
  out.fill(Number.NaN);
  out[0] = n1;
  out[1] = n2;
  if (n1 === 0 || n2 === 0) return;

  // KS extremes and Wasserstein area in one merge pass (sweepSorted).
  let i = 0;
  let j = 0;
  let maxDiff = 0;
  let minDiff = 0;
  const area = new Float64Array(2);
  let prevDiff = 0;
  let prev = Number.NaN;
  while (i < n1 || j < n2) {
    const va = i < n1 ? a[i]! : Number.POSITIVE_INFINITY;
    const vb = j < n2 ? b[j]! : Number.POSITIVE_INFINITY;
    const v = va < vb ? va : vb;
    if (prev === prev) addComp(area, Math.abs(prevDiff) * (v - prev));
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
    prevDiff = diff;
    prev = v;
  }
  out[2] = maxDiff;
  out[3] = Math.min(-minDiff, 1);
  out[4] = area[0]! + area[1]!;

  // Population std, two-pass with compensated sums (meanStd).
  const s = new Float64Array(2);
  for (let k = 0; k < n1; k++) addComp(s, a[k]!);
  const mean = (s[0]! + s[1]!) / n1;
  const q = new Float64Array(2);
  for (let k = 0; k < n1; k++) {
    const d = a[k]! - mean;
    addComp(q, d * d);
  }
  out[5] = Math.sqrt((q[0]! + q[1]!) / n1);

  // PSI on Evidently's buckets (binnedSharesSorted with zero filling).
  let distinct = 1;
  for (let k = 1; k < n1 && distinct <= 20; k++) if (a[k] !== a[k - 1]) distinct++;
  let r: Float64Array;
  let c: Float64Array;
  if (distinct > 20) {
    let lo = Math.min(a[0]!, b[0]!);
    let hi = Math.max(a[n1 - 1]!, b[n2 - 1]!);
    const width = (hi - lo) / (Math.log2(n1 + n2) + 1);
    const bins = width > 0 ? Math.ceil((hi - lo) / width) : 1;
    if (!(hi > lo)) {
      lo -= 0.5;
      hi += 0.5;
    }
    const edges = new Float64Array(bins + 1);
    const step = (hi - lo) / bins;
    for (let k = 0; k < bins; k++) edges[k] = k * step + lo;
    edges[bins] = hi;
    r = new Float64Array(bins);
    c = new Float64Array(bins);
    let la = searchSorted(a, edges[0]!, false);
    let lb = searchSorted(b, edges[0]!, false);
    for (let k = 0; k < bins; k++) {
      const ra = searchSorted(a, edges[k + 1]!, k === bins - 1);
      const rb = searchSorted(b, edges[k + 1]!, k === bins - 1);
      r[k] = ra - la;
      c[k] = rb - lb;
      la = ra;
      lb = rb;
    }
  } else {
    // One bucket per distinct value of either side, ascending.
    const rs: number[] = [];
    const cs: number[] = [];
    let x = 0;
    let y = 0;
    while (x < n1 || y < n2) {
      const v = Math.min(
        x < n1 ? a[x]! : Number.POSITIVE_INFINITY,
        y < n2 ? b[y]! : Number.POSITIVE_INFINITY,
      );
      let cr = 0;
      let cc = 0;
      while (x < n1 && a[x] === v) {
        x++;
        cr++;
      }
      while (y < n2 && b[y] === v) {
        y++;
        cc++;
      }
      rs.push(cr);
      cs.push(cc);
    }
    r = Float64Array.from(rs);
    c = Float64Array.from(cs);
  }
  for (let k = 0; k < r.length; k++) r[k] = r[k]! / n1;
  for (let k = 0; k < c.length; k++) c[k] = c[k]! / n2;
  fill(r);
  fill(c);
  let psi = 0;
  for (let k = 0; k < r.length; k++) psi += (r[k]! - c[k]!) * Math.log(r[k]! / c[k]!);
  out[6] = psi;
}
