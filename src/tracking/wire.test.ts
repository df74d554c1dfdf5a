// The binary and JSON wire forms of metric points: round trips with NaN/±Infinity, and every malformed body refused.
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { MetricColumnsBuilder } from "./columns.ts";
import { decodePoints, decodePointsBinary, encodePointsBinary, encodePointsJson } from "./wire.ts";

function sample(): ReturnType<MetricColumnsBuilder["take"]> {
  const b = new MetricColumnsBuilder(2);
  const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 1e-300, 0.1];
  special.forEach((v, i) => b.push(i % 2 === 0 ? "loss" : "val/auc", v, i, 1_700_000_000_000 + i));
  return b.take();
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isLoopmlError(e) ? e.code : "not a LoopmlError";
  }
  return undefined;
}

describe("metric point wire forms", () => {
  it("round-trip through binary and JSON, NaN and ±Infinity included", () => {
    const p = sample();
    for (const back of [
      decodePointsBinary(encodePointsBinary(p)),
      decodePoints(JSON.parse(encodePointsJson(p))),
    ]) {
      expect(back?.keys).toEqual(["loss", "val/auc"]);
      expect([...(back?.key ?? [])]).toEqual([0, 1, 0, 1, 0, 1]);
      expect([...(back?.value ?? [])]).toEqual([...p.value]);
      expect([...(back?.step ?? [])]).toEqual([0, 1, 2, 3, 4, 5]);
      expect(back?.timestamp[5]).toBe(1_700_000_000_005);
    }
  });

  it("decodes a binary body that does not start 8-aligned (a pooled buffer)", () => {
    const bytes = encodePointsBinary(sample());
    const shifted = new Uint8Array(bytes.length + 3).subarray(3);
    shifted.set(bytes);
    expect(decodePointsBinary(shifted).value[1]).toBe(Number.POSITIVE_INFINITY);
  });

  it("refuses malformed binary bodies with INVALID_ARGUMENT", () => {
    const good = encodePointsBinary(sample());
    const tampered = (at: (b: Uint8Array, v: DataView) => void): Uint8Array => {
      const b = good.slice();
      at(b, new DataView(b.buffer));
      return b;
    };
    const keyAt = (8 + new DataView(good.buffer).getUint32(4, true) + 7) & ~7;
    const valueAt = (keyAt + 4 * 6 + 7) & ~7;
    const cases: Uint8Array[] = [
      new Uint8Array(3),
      tampered((b) => (b[0] = 0)),
      good.slice(0, good.length - 8),
      tampered((_, v) => v.setUint32(4, 1e6, true)),
      tampered((b) => (b[8] = 0x7b + 1)),
      tampered((_, v) => v.setUint32(keyAt, 2, true)),
      tampered((_, v) => v.setFloat64(valueAt + 8 * 6, 0.5, true)),
      tampered((_, v) => v.setFloat64(valueAt + 16 * 6, Number.NaN, true)),
    ];
    for (const c of cases) expect(codeOf(() => decodePointsBinary(c))).toBe("INVALID_ARGUMENT");
  });
});
