// The fast Open Inference V2 decoder against JSON.parse + decodeTensors: same batch and id on every body it accepts, the generic answer on every body it declines.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../errors.ts";
import type { DecodeLimits } from "./decode.ts";
import { decodeFastTensor } from "./fast-json.ts";
import { decodeTensors } from "./routes/open-inference.ts";
import type { ModelSignature } from "./types.ts";

const SEED = 20261127;
const LIMITS: DecodeLimits = { maxRows: 6 };

function signature(width: number): ModelSignature {
  return {
    inputs: Array.from({ length: width }, (_, i) => ({
      name: `f${i}`,
      type: "double",
      nullable: i % 2 === 0,
    })),
    task: "regression",
    nClasses: 1,
  };
}

type Outcome = { values: number[]; nRows: number; id: unknown } | { code: string };

function generic(sig: ModelSignature, text: string): Outcome {
  try {
    const body = (JSON.parse(text) ?? {}) as Record<string, unknown>;
    const batch = decodeTensors(sig, body.inputs, LIMITS);
    const id = typeof body.id === "string" ? body.id : undefined;
    return { values: Array.from(batch.values), nRows: batch.nRows, id };
  } catch (e) {
    return { code: isLoopmlError(e) ? e.code : "BAD_JSON" };
  }
}

function routed(sig: ModelSignature, text: string): Outcome {
  const fast = decodeFastTensor(Buffer.from(text), sig, LIMITS);
  if (!fast) return generic(sig, text);
  return { values: Array.from(fast.batch.values), nRows: fast.batch.nRows, id: fast.id };
}

const cell = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.constantFrom("null", "true", "1e400", '"x"', "-0", "2.5E-3") },
);

const bodyArb = fc
  .tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 0, max: 7 }),
    fc.boolean(),
    fc.constantFrom("FP32", "FP64", "INT64", "BYTES"),
    fc.option(fc.constantFrom("req-1", "a b"), { nil: undefined }),
    fc.integer({ min: -1, max: 1 }),
    fc.array(cell, { minLength: 24, maxLength: 24 }),
    fc.constantFrom("x", "f0"),
  )
  .map(([width, rows, nested, datatype, id, skew, cells, name]) => {
    const n = Math.max(0, rows * width + skew);
    const flat = cells.slice(0, Math.min(n, cells.length));
    const data = nested
      ? `[${Array.from({ length: Math.ceil(flat.length / width) }, (_, r) => `[${flat.slice(r * width, r * width + width).join(",")}]`).join(", ")}]`
      : `[${flat.join(", ")}]`;
    const tensor = `{"name": "${name}", "shape": [${rows}, ${width}], "datatype": "${datatype}", "data": ${data}}`;
    return { width, text: `{${id === undefined ? "" : `"id": "${id}", `}"inputs": [${tensor}]}` };
  });

describe("fast V2 tensor decoding", () => {
  it("agrees with JSON.parse + decodeTensors on every generated body, valid or not", () => {
    let accepted = 0;
    fc.assert(
      fc.property(bodyArb, ({ width, text }) => {
        const sig = signature(width);
        if (decodeFastTensor(Buffer.from(text), sig, LIMITS)) accepted++;
        expect(routed(sig, text)).toEqual(generic(sig, text));
      }),
      { seed: SEED, numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(50);
  });

  it("declines corrupted bodies, so their errors stay the generic ones", () => {
    fc.assert(
      fc.property(
        bodyArb,
        fc.nat(),
        fc.constantFrom("", "]", "}", ",", '"', "[", "-"),
        ({ width, text }, at, put) => {
          const i = at % text.length;
          const bad = text.slice(0, i) + put + text.slice(i + 1);
          expect(routed(signature(width), bad)).toEqual(generic(signature(width), bad));
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it("leaves outputs, parameters, per-column tensors and deep nesting to the generic path", () => {
    const sig = signature(2);
    const tensor = '{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}';
    expect(decodeFastTensor(Buffer.from(`{"inputs": [${tensor}]}`), sig, LIMITS)?.batch.nRows).toBe(1);
    for (const text of [
      `{"inputs": [${tensor}], "outputs": [{"name": "predictions"}]}`,
      `{"inputs": [${tensor}], "parameters": {}}`,
      `{"inputs": [${tensor}, ${tensor}]}`,
      '{"inputs": [{"name": "f0", "shape": [1], "datatype": "FP64", "data": [1]}]}',
      `{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": ${"[".repeat(12)}1, 2${"]".repeat(12)}}]}`,
    ]) {
      expect(decodeFastTensor(Buffer.from(text), sig, LIMITS), text).toBeNull();
    }
  });
});
