// Decimal digits to the nearest double without V8's slow path: exact for ≤ 15 digits, double-double with a rounding check up to 19.
//
// V8's Number()/JSON.parse fall back to big-number arithmetic for most 17-digit decimals (what Python and
// NumPy print for float32 features), about 120 ns each. Here a decimal is M × 10^E with M < 10^19:
// - M < 2^53 and |E| ≤ 22: M and 10^|E| are exact doubles, so one multiply or divide is correctly rounded
//   (Clinger's fast path);
// - otherwise M × 10^E is formed in double-double arithmetic (about 2^-85 relative error) and its rounding
//   is accepted only when it is at least that far from a halfway point; else NaN tells the caller to use
//   Number() on the text. The property tests check every answer against JSON.parse.

const EXACT = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/** The table covers 10^-MAX_EXP … 10^MAX_EXP: products stay normal and finite for M < 10^19. */
export const MAX_EXP = 64;
const powHi = new Float64Array(2 * MAX_EXP + 1);
const powLo = new Float64Array(2 * MAX_EXP + 1);
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
}

const SPLIT = 134217729; // 2^27 + 1, Dekker's splitter
let productLow = 0;

/** a × b rounded; the exact rounding error is left in productLow (Dekker's two-product, no FMA in JS). */
function twoProduct(a: number, b: number): number {
  const p = a * b;
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  productLow = al * bl - (p - ah * bh - al * bh - ah * bl);
  return p;
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian: high word second

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
    // M = mHi + mLo exactly: the product's error is an integer below 2^11 and lo < 10^4.
    const mHi = twoProduct(hi, EXACT[loDigits] as number);
    const mLo = productLow + lo;
    const pHi = powHi[exp10 + MAX_EXP] as number;
    const pLo = powLo[exp10 + MAX_EXP] as number;
    const a = twoProduct(mHi, pHi);
    const t = productLow + (mHi * pLo + mLo * pHi);
    value = a + t;
    const err = t - (value - a); // exact (Fast2Sum): |t| is far below |a|
    bits[0] = value;
    const high = words[HIGH] as number;
    // A power of two has a smaller gap below it: rare enough to leave to Number().
    if ((high & 0xfffff) === 0 && words[1 - HIGH] === 0) return NaN;
    const exponent = (high >>> 20) & 0x7ff;
    words[HIGH] = (exponent - 52) << 20;
    words[1 - HIGH] = 0;
    const halfUlp = bits[0] / 2;
    if (Math.abs(err) + value * 8.271806125530277e-25 >= halfUlp) return NaN; // margin 2^-80 × value
  }
  return negative ? -value : value;
}
