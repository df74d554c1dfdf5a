// The fast decoder against JSON.parse + decode.ts: same values bit for bit on every body it accepts, and the generic answer (value or error) on every body it declines.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import { decimalToDouble } from "./decimal.ts";
import { decodeColumns, decodeRows, decodeSplit, type DecodeLimits } from "./decode.ts";
import { decodeFast, type FastShapes } from "./fast-json.ts";
import type { Batch, ModelSignature } from "./types.ts";

const SEED = 20261127;

const SIG: ModelSignature = {
  inputs: [
    { name: "a", type: "double", nullable: true },
    { name: "b", type: "double", nullable: false },
    { name: "c", type: "double", nullable: true },
  ],
  task: "regression",
  nClasses: 1,
};
const NAMES = SIG.inputs.map((c) => c.name);
const LIMITS: DecodeLimits = { maxRows: 8 };
const SHAPES: FastShapes = { keys: ["instances", "inputs", "dataframe_split"], flags: true };

/** The generic path the routes fall back to (decodeBody and MLflow's decodeJson in one). */
function generic(text: string): Batch {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw Object.assign(new Error("bad JSON"), { code: "BAD_JSON" });
  }
  const b = body as Record<string, unknown>;
  if (b.instances !== undefined) return decodeRows(SIG, b.instances, LIMITS);
  if (Array.isArray(b.inputs)) return decodeRows(SIG, b.inputs, LIMITS);
  if (b.inputs !== undefined) return decodeColumns(SIG, b.inputs, LIMITS);
  const split = b.dataframe_split as Record<string, unknown>;
  return decodeSplit(SIG, split.columns, split.data, LIMITS);
}

type Outcome = { values: number[]; nRows: number } | { code: string; message: string };

function outcome(f: () => Batch): Outcome {
  try {
    const batch = f();
    return { values: Array.from(batch.values), nRows: batch.nRows };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { code: isLoopmlError(e) ? e.code : (err.code ?? "OTHER"), message: err.message };
  }
}

/** What a route answers: the fast batch when there is one, else the generic path's value or error. */
function routed(text: string): Outcome {
  const fast = decodeFast(Buffer.from(text), SIG, LIMITS, SHAPES);
  return fast ? outcome(() => fast.batch) : outcome(() => generic(text));
}

/** The same number written the ways clients write numbers. */
function spellings(v: number): string[] {
  if (!Number.isFinite(v)) return [];
  const out = [JSON.stringify(v), v.toExponential(), v.toExponential(3).replace("e", "E")];
  if (Math.abs(v) < 1e21) out.push(v.toFixed(Math.min(20, 3)), v.toPrecision(17));
  if (Object.is(v, -0)) out.push("-0", "-0.0e5");
  return out;
}

const decimal = fc
  .tuple(
    fc.boolean(),
    fc.stringMatching(/^(0|[1-9][0-9]{0,22})$/),
    fc.option(fc.stringMatching(/^[0-9]{1,24}$/), { nil: undefined }),
    fc.option(fc.integer({ min: -340, max: 320 }), { nil: undefined }),
  )
  .map(
    ([neg, int, frac, exp]) =>
      `${neg ? "-" : ""}${int}${frac ? `.${frac}` : ""}${exp === undefined ? "" : `e${exp}`}`,
  );

const cellText = fc.oneof(
  { weight: 4, arbitrary: fc.double({ noNaN: true }).chain((v) => fc.constantFrom(...spellings(v), "0")) },
  { weight: 4, arbitrary: decimal },
  {
    weight: 1,
    arbitrary: fc.constantFrom("null", "1e400", "-1e400", "true", '"x"', "1.", ".5", "01", "-", "1e"),
  },
);

const ws = fc.constantFrom("", " ", "\n", "\t ");

const rowsArb = fc.array(fc.array(cellText, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 4 });

function rowsJson(rows: string[][], space: string): string {
  return `[${rows.map((r) => `[${r.join(`,${space}`)}]`).join(",")}]`;
}

const bodyArb = fc.oneof(
  fc
    .tuple(
      rowsArb,
      ws,
      fc.constantFrom("instances", "inputs"),
      fc.constantFrom("", ', "probabilities": true'),
    )
    .map(([rows, s, key, extra]) => `{${s}"${key}":${s}${rowsJson(rows, s)}${extra}${s}}`),
  fc.tuple(rowsArb, ws).map(([rows, s]) => {
    const cols = NAMES.map((n, c) => `"${n}":${s}[${rows.map((r) => r[c]).join(",")}]`);
    return `{"inputs": {${cols.reverse().join(`,${s}`)}}}`;
  }),
  fc
    .tuple(rowsArb, fc.constantFrom(["a", "b", "c"], ["c", "a", "b"], ["b", "c", "a"]))
    .map(
      ([rows, order]) =>
        `{"dataframe_split": {"columns": ${JSON.stringify(order)}, "data": ${rowsJson(rows, " ")}}}`,
    ),
);

describe("fast JSON decoding", () => {
  it("reads a plain batch into the same values as JSON.parse + decodeRows", () => {
    const text = '{"instances": [[1.5, -0, 3e-7], [null, 0.27413785457611084, 1E+2]], "explain": false}';
    const fast = decodeFast(Buffer.from(text), SIG, LIMITS, SHAPES);
    expect(fast?.key).toBe("instances");
    expect(fast?.explain).toBe(false);
    expect(Array.from(fast?.batch.values ?? [])).toEqual(Array.from(generic(text).values));
    expect(Object.is(fast?.batch.values[1], -0)).toBe(true);
  });

  it("agrees with the generic path on every generated body, valid or not", () => {
    fc.assert(
      fc.property(bodyArb, (text) => {
        expect(routed(text)).toEqual(outcome(() => generic(text)));
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it("declines corrupted bodies, so their errors stay the generic ones", () => {
    fc.assert(
      fc.property(
        bodyArb,
        fc.nat(),
        fc.constantFrom("", "x", "]", "}", ",", '"', "\\", "{"),
        (text, at, put) => {
          const i = at % text.length;
          const bad = text.slice(0, i) + put + text.slice(i + 1);
          expect(routed(bad)).toEqual(outcome(() => generic(bad)));
        },
      ),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it("leaves limits, empty batches, strings, unknown keys and duplicates to the generic path", () => {
    const declined = [
      `{"instances": [${Array.from({ length: 9 }, () => "[1,2,3]").join(",")}]}`,
      '{"instances": []}',
      '{"instances": [[1, null, 3]]}',
      '{"instances": [[1, 2, 3]], "extra": 1}',
      '{"instances": [[1, 2, 3]], "instances": [[1, 2, 3]]}',
      '{"instances": [{"a": 1, "b": 2, "c": 3}]}',
      '{"inputs": {"a": [1], "b": [2]}}',
      '{"dataframe_split": {"columns": ["a", "b", "c"], "index": [0], "data": [[1, 2, 3]]}}',
      '{"instances": [[1, 2, 3]]} x',
    ];
    for (const text of declined) {
      expect(decodeFast(Buffer.from(text), SIG, LIMITS, SHAPES), text).toBeNull();
      expect(routed(text)).toEqual(outcome(() => generic(text)));
    }
    const strings: ModelSignature = { ...SIG, inputs: [{ name: "s", type: "string", nullable: true }] };
    expect(decodeFast(Buffer.from('{"instances": [[1]]}'), strings, LIMITS, SHAPES)).toBeNull();
    const loopmlOnly: FastShapes = { keys: ["instances", "inputs"], flags: true };
    const split = '{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}';
    expect(decodeFast(Buffer.from(split), SIG, LIMITS, loopmlOnly)).toBeNull();
  });

  it("converts decimals exactly as Number() does, or declines", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.stringMatching(/^[1-9][0-9]{0,18}$/),
        fc.integer({ min: -80, max: 80 }),
        (negative, digits, exp) => {
          const hi = Number(digits.slice(0, 15));
          const lo = digits.slice(15);
          const v = decimalToDouble(negative, hi, Number(lo || "0"), lo.length, exp);
          if (!Number.isNaN(v)) expect(v).toBe(Number(`${negative ? "-" : ""}${digits}e${exp}`));
        },
      ),
      { seed: SEED, numRuns: 20000 },
    );
    expect(Object.is(decimalToDouble(true, 0, 0, 0, 5), -0)).toBe(true);
  });
});
