// Request decoding: rows, columns and split frames into batches, and every kind of bad input named precisely.
import { describe, expect, it } from "vitest";
import { isLoopmlError, type ErrorCode } from "../errors.ts";
import { decodeColumns, decodeRows, decodeSplit } from "./decode.ts";
import type { ModelSignature } from "./types.ts";

const SIG: ModelSignature = {
  inputs: [
    { name: "age", type: "double", nullable: true },
    { name: "income", type: "double", nullable: false },
    { name: "city", type: "string", nullable: true },
  ],
  task: "binary",
  nClasses: 2,
};

function failure(call: () => unknown): {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
} {
  try {
    call();
  } catch (e) {
    if (isLoopmlError(e)) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error("expected an error");
}

describe("decode", () => {
  it("reads array rows, object rows and columns into the same batch", () => {
    const a = decodeRows(SIG, [
      [31, 1000, "Lyon"],
      [null, 2000, null],
    ]);
    const b = decodeRows(SIG, [{ age: 31, income: 1000, city: "Lyon" }, { income: 2000 }]);
    const c = decodeColumns(SIG, { age: [31, null], income: [1000, 2000], city: ["Lyon", null] });
    const d = decodeSplit(
      SIG,
      ["city", "income", "age"],
      [
        ["Lyon", 1000, 31],
        [null, 2000, null],
      ],
    );
    for (const batch of [a, b, c, d]) {
      expect(batch.nRows).toBe(2);
      expect(Array.from(batch.values)).toEqual([31, 1000, NaN, NaN, 2000, NaN]);
      expect(batch.strings).toEqual([null, null, ["Lyon", null]]);
    }
  });

  it.each([
    {
      name: "string in a numeric column",
      call: () => decodeRows(SIG, [[1, "abc", "x"]]),
      code: "INVALID_ARGUMENT",
      text: /Column "income" \(double\), row 0: "abc" is not a number/,
      column: "income",
    },
    {
      name: "missing value where not nullable",
      call: () => decodeRows(SIG, [{ age: 3 }]),
      code: "INVALID_ARGUMENT",
      text: /Column "income" \(double\), row 0: the value is missing/,
      column: "income",
    },
    {
      name: "NaN where not nullable",
      call: () => decodeColumns(SIG, { age: [1], income: [NaN], city: ["x"] }),
      code: "INVALID_ARGUMENT",
      text: /"income".*missing/,
      column: "income",
    },
    {
      name: "unknown column in a row",
      call: () => decodeRows(SIG, [{ age: 1, income: 2, town: "x" }]),
      code: "INVALID_ARGUMENT",
      text: /Unknown column "town" in row 0; the model takes age, income, city/,
      column: "town",
    },
    {
      name: "unknown column in inputs",
      call: () => decodeColumns(SIG, { age: [1], income: [2], city: ["x"], zip: [1] }),
      code: "INVALID_ARGUMENT",
      text: /Unknown column "zip"/,
      column: "zip",
    },
    {
      name: "column absent from inputs",
      call: () => decodeColumns(SIG, { age: [1], income: [2] }),
      code: "INVALID_ARGUMENT",
      text: /Column "city" is missing/,
      column: "city",
    },
    {
      name: "columns of different lengths",
      call: () => decodeColumns(SIG, { age: [1, 2], income: [2], city: ["x", "y"] }),
      code: "INVALID_ARGUMENT",
      text: /Column "income" has 1 values but the other columns have 2/,
      column: "income",
    },
    {
      name: "wrong row width",
      call: () => decodeRows(SIG, [[1, 2]]),
      code: "INVALID_ARGUMENT",
      text: /Row 0 has 2 values but the model takes 3/,
      column: undefined,
    },
    {
      name: "object in a string column",
      call: () => decodeRows(SIG, [[1, 2, { a: 1 }]]),
      code: "INVALID_ARGUMENT",
      text: /Column "city" \(string\), row 0: an object is not a string/,
      column: "city",
    },
    {
      name: "empty batch",
      call: () => decodeRows(SIG, []),
      code: "INVALID_ARGUMENT",
      text: /The batch is empty/,
      column: undefined,
    },
    {
      name: "split frame lacking a column",
      call: () => decodeSplit(SIG, ["age", "income"], [[1, 2]]),
      code: "INVALID_ARGUMENT",
      text: /Column "city" missing/,
      column: "city",
    },
    {
      name: "batch over the limit",
      call: () =>
        decodeRows(
          SIG,
          [
            [1, 2, "a"],
            [1, 2, "b"],
            [1, 2, "c"],
          ],
          { maxRows: 2 },
        ),
      code: "RESOURCE_EXHAUSTED",
      text: /3 rows but this server accepts at most 2/,
      column: undefined,
    },
  ])("rejects $name", ({ call, code, text, column }) => {
    const e = failure(call);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(text);
    expect(e.details?.column).toBe(column);
  });
});
