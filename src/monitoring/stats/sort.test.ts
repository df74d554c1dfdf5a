// The radix sort must order exactly like Float64Array#sort, after dropping NaN and ±Infinity.
import { describe, expect, it } from "vitest";
import { bellSample } from "./rng.ts";
import { sortedFinite } from "./sort.ts";

function reference(values: Float64Array): Float64Array {
  return values.filter((v) => Number.isFinite(v)).sort();
}

describe("sortedFinite", () => {
  it.each([0, 1, 7, 16383, 16384, 100_000])("matches the built-in sort on %i values with specials", (n) => {
    const values = bellSample(n + 3, n, -0.5, 1e3);
    const specials = [
      Number.NaN,
      Infinity,
      -Infinity,
      -0,
      0,
      -1e-310,
      1e-310,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
    ];
    for (let i = 0; i < n; i += 97) values[i] = specials[(i / 97) % specials.length]!;
    const got = sortedFinite(values);
    const want = reference(values);
    expect(got.length).toBe(want.length);
    expect(got.every((v, i) => Object.is(v, want[i]))).toBe(true);
  });

  it("keeps ties and a constant column intact, and leaves the input untouched", () => {
    const values = new Float64Array(50_000).fill(2.5);
    values[7] = Number.NaN;
    const got = sortedFinite(values);
    expect(got.length).toBe(49_999);
    expect(got.every((v) => v === 2.5)).toBe(true);
    expect(Number.isNaN(values[7])).toBe(true);
    expect(values.filter((v) => v === 2.5).length).toBe(49_999);
  });
});
