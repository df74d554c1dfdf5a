// Decimal digits to the nearest double without V8's slow path: exact for ≤ 15 digits, double-double with a rounding check up to 19.
//
// V8's Number()/JSON.parse fall back to big-number arithmetic for most 17-digit decimals (what Python and
// NumPy print for float32 features), about 120 ns each. Here a decimal is M × 10^E with M < 10^19:
// - M < 2^53 and |E| ≤ 22: M and 10^|E| are exact doubles, so one multiply or divide is correctly rounded
//   (Clinger's fast path);
// - otherwise M × 10^E is formed in double-double arithmetic (within 2^-85 relative) and its rounding is
//   accepted only when the whole interval 2^-80 around it rounds to one double; else NaN tells the
//   caller to use Number() on the text. The property tests check every answer against JSON.parse.

const EXACT = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter (no FMA in JS)
const TWO26 = 67108864;

/** The table covers 10^-MAX_EXP … 10^MAX_EXP: products stay normal and finite for M < 10^19. */
export const MAX_EXP = 64;
const powHi = new Float64Array(2 * MAX_EXP + 1);
const powLo = new Float64Array(2 * MAX_EXP + 1);
/** powHi split in two 26-bit halves (Dekker), so a product needs only the other factor split. */
const powHiH = new Float64Array(2 * MAX_EXP + 1);
const powHiL = new Float64Array(2 * MAX_EXP + 1);
for (let k = -MAX_EXP; k <= MAX_EXP; k++) {
  // hi = 10^k correctly rounded; lo = the rest, to 53 bits, from exact rational arithmetic.
  const hi = Number(`1e${k}`);
  let lo: number;
  if (k >= 0) lo = Number(10n ** BigInt(k) - BigInt(hi));
  else {
    let m = hi;
    let s = 0;
    while (!Number.isInteger(m)) {
      m *= 2;
      s++;
    }
    const den = (10n ** BigInt(-k)) << BigInt(s);
    lo = Number((1n << BigInt(s)) - BigInt(m) * 10n ** BigInt(-k)) / Number(den);
  }
  powHi[k + MAX_EXP] = hi;
  powLo[k + MAX_EXP] = lo;
  const t = SPLIT * hi;
  powHiH[k + MAX_EXP] = t - (t - hi);
  powHiL[k + MAX_EXP] = hi - (t - (t - hi));
}

/**
 * The double nearest to ±(hi × 10^loDigits + lo) × 10^exp10, or NaN when this cannot be sure of the
 * rounding (the caller then converts the text with Number()). hi has at most 15 digits, lo at most 4.
 *
 * @example
 * decimalToDouble(false, 123, 0, 0, -2); // 1.23
 */
export function decimalToDouble(
  negative: boolean,
  hi: number,
  lo: number,
  loDigits: number,
  exp10: number,
): number {
  if (hi === 0 && lo === 0) return negative ? -0 : 0;
  let value: number;
  if (loDigits === 0 && exp10 >= -22 && exp10 <= 22) {
    value = exp10 >= 0 ? hi * (EXACT[exp10] as number) : hi / (EXACT[-exp10] as number);
  } else {
    if (exp10 < -MAX_EXP || exp10 > MAX_EXP) return NaN;
    // M = mHi + mLo exactly, mHi the nearest double: hi = h1·2^26 + h0 with h1 < 2^24 makes both
    // partial products exact integers, and Knuth's two-sum keeps the rounding error of their sum.
    let mHi = hi;
    let mLo = 0;
    if (loDigits > 0) {
      const scale = EXACT[loDigits] as number;
      const h1 = Math.floor(hi / TWO26);
      const x = h1 * scale * TWO26;
      const y = (hi - h1 * TWO26) * scale + lo;
      mHi = x + y;
      const z = mHi - x;
      mLo = x - (mHi - z) + (y - z);
    }
    const k = exp10 + MAX_EXP;
    const pHi = powHi[k] as number;
    // a + (exact error) = mHi × pHi, by Dekker's two-product with pHi split ahead of time.
    const a = mHi * pHi;
    const s = SPLIT * mHi;
    const ah = s - (s - mHi);
    const al = mHi - ah;
    const bh = powHiH[k] as number;
    const bl = powHiL[k] as number;
    const t = al * bl - (a - ah * bh - al * bh - ah * bl) + (mHi * (powLo[k] as number) + mLo * pHi);
    // The exact product is within 2^-85 of a + t: when both ends of a wider interval round to the same
    // double, so does the exact value (rounding is monotonic).
    const margin = a * 8.271806125530277e-25; // 2^-80
    value = a + (t + margin);
    if (value !== a + (t - margin)) return NaN;
  }
  return negative ? -value : value;
}
