import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import {
  categoryAt,
  dropColumns,
  frameFromColumns,
  frameFromRows,
  getColumn,
  selectColumns,
  takeRows,
} from "./frame.ts";

describe("frame", () => {
  it("builds numeric and categorical columns from arrays, with missing values", () => {
    const f = frameFromColumns({
      age: [31, null, 54],
      city: ["Lyon", null, "Lyon"],
      x: new Float32Array([1, 2, 3]),
    });
    expect(f.nRows).toBe(3);
    const age = getColumn(f, "age");
    expect(age.kind).toBe("numeric");
    if (age.kind !== "numeric") throw new Error("unreachable");
    expect(Array.from(age.values)).toEqual([31, NaN, 54]);
    const city = getColumn(f, "city");
    if (city.kind !== "categorical") throw new Error("expected categorical");
    expect(Array.from(city.codes)).toEqual([0, -1, 0]);
    expect(city.dictionary).toEqual(["Lyon"]);
    expect(categoryAt(city, 1)).toBeNull();
  });

  it("builds from rows, inferring kinds, and maps strings onto a fixed dictionary", () => {
    const f = frameFromRows([{ a: 1, c: "b" }, { a: 2 }, { c: "z" }], { dictionaries: { c: ["a", "b"] } });
    const c = getColumn(f, "c");
    if (c.kind !== "categorical") throw new Error("expected categorical");
    expect(Array.from(c.codes)).toEqual([1, -1, -1]);
    const a = getColumn(f, "a");
    if (a.kind !== "numeric") throw new Error("expected numeric");
    expect(Array.from(a.values)).toEqual([1, 2, NaN]);
  });

  it("selects, drops and takes rows", () => {
    const f = frameFromColumns({ a: [1, 2, 3], b: ["x", "y", "z"] });
    expect(selectColumns(f, ["b"]).columns.map((c) => c.name)).toEqual(["b"]);
    expect(dropColumns(f, ["b"]).columns.map((c) => c.name)).toEqual(["a"]);
    const t = takeRows(f, [2, 0, 2]);
    const b = getColumn(t, "b");
    if (b.kind !== "categorical") throw new Error("expected categorical");
    expect([0, 1, 2].map((i) => categoryAt(b, i))).toEqual(["z", "x", "z"]);
  });

  it("refuses unequal lengths, unknown columns and out-of-range rows with INVALID_ARGUMENT", () => {
    const bad = [
      () => frameFromColumns({ a: [1, 2], b: [1] }),
      () => getColumn(frameFromColumns({ a: [1] }), "nope"),
      () => takeRows(frameFromColumns({ a: [1] }), [1]),
      () => frameFromRows([{ a: 1 }, { a: "x" }], { kinds: { a: "numeric" } }),
    ];
    for (const f of bad) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isLoopmlError(err, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});
