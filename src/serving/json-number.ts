// One JSON number (or null) read from body bytes into a double, for the fast request decoder (fast-json.ts).
import { decimalToDouble } from "./decimal.ts";

/** Thrown to give up on the fast path; never escapes decodeFast (one instance: no stack trace per throw). */
export const BAIL = new Error("the fast JSON path declined this body");

/** Where the last readNumber stopped. */
export let numberEnd = 0;

/**
 * The JSON number (or null, as NaN, when `nullable`) starting at b[i]; sets numberEnd. Digits go to `hi`
 * until it holds 15 (exact in a double), then up to 4 more to `lo`; longer mantissas go to Number().
 */
export function readNumber(b: Buffer, i: number, nullable: boolean): number {
  // Past the end b[i] is undefined, which compares false like any non-digit.
  let c = b[i] as number;
  if (c === 0x6e) {
    if (b[i + 1] !== 0x75 || b[i + 2] !== 0x6c || b[i + 3] !== 0x6c || !nullable) throw BAIL;
    numberEnd = i + 4;
    return NaN;
  }
  const start = i;
  const negative = c === 0x2d;
  if (negative) c = b[++i] as number;
  let hi = 0;
  let lo = 0;
  let loDigits = 0;
  let exp10 = 0;
  let room = 15;
  let exact = true;
  if (c === 0x30) c = b[++i] as number;
  else if (c >= 0x31 && c <= 0x39) {
    while (c >= 0x30 && c <= 0x39 && room > 0) {
      hi = hi * 10 + (c - 0x30);
      room--;
      c = b[++i] as number;
    }
    while (c >= 0x30 && c <= 0x39) {
      if (loDigits < 4) {
        lo = lo * 10 + (c - 0x30);
        loDigits++;
      } else exact = false;
      c = b[++i] as number;
    }
  } else throw BAIL;
  if (c === 0x2e) {
    c = b[++i] as number;
    if (!(c >= 0x30 && c <= 0x39)) throw BAIL;
    if (room === 15) {
      while (c === 0x30) {
        exp10--;
        c = b[++i] as number;
      }
    }
    const fraction = i;
    while (c >= 0x30 && c <= 0x39 && room > 0) {
      hi = hi * 10 + (c - 0x30);
      room--;
      c = b[++i] as number;
    }
    while (c >= 0x30 && c <= 0x39 && loDigits < 4) {
      lo = lo * 10 + (c - 0x30);
      loDigits++;
      c = b[++i] as number;
    }
    exp10 -= i - fraction;
    if (c >= 0x30 && c <= 0x39) {
      exact = false;
      while (c >= 0x30 && c <= 0x39) c = b[++i] as number;
    }
  }
  if (c === 0x65 || c === 0x45) {
    c = b[++i] as number;
    const minus = c === 0x2d;
    if (minus || c === 0x2b) c = b[++i] as number;
    if (!(c >= 0x30 && c <= 0x39)) throw BAIL;
    let e = 0;
    while (c >= 0x30 && c <= 0x39) {
      if (e < 100000) e = e * 10 + (c - 0x30);
      c = b[++i] as number;
    }
    exp10 += minus ? -e : e;
  }
  numberEnd = i;
  let value = exact ? decimalToDouble(negative, hi, lo, loDigits, exp10) : NaN;
  if (value !== value) value = Number(b.toString("latin1", start, i));
  // Infinity from a huge exponent: the generic path names the column and says it is not finite.
  if (value === Infinity || value === -Infinity) throw BAIL;
  return value;
}
