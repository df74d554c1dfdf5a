// The onnx runtime loads foreign ONNX models (fixtures built once by fixtures/onnx/make_onnx_fixtures.py)
// and loopml's own exports, infers their signature from the graph and predicts batches.
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../../errors.ts";
import { frameFromColumns } from "../../learn/frame.ts";
import { gbdt } from "../../learn/gbdt/index.ts";
import { gbdtToOnnx } from "../../learn/onnx/index.ts";
import { decodeColumns } from "../decode.ts";
import { loadRuntimeFromFile } from "./load.ts";
import { createOnnxRuntime } from "./onnx.ts";

const DIR = new URL("../fixtures/onnx/", import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(`${name}.onnx`, DIR));
const expected = JSON.parse(readFileSync(new URL("expected.json", DIR), "utf8")) as Record<
  string,
  { inputs: Record<string, unknown[]>; predictions?: number[]; probabilities?: number[][] }
>;

function close(actual: ArrayLike<number>, wanted: readonly number[], tol = 1e-6): void {
  expect(actual.length).toBe(wanted.length);
  for (let i = 0; i < wanted.length; i++)
    expect(Math.abs((actual[i] as number) - (wanted[i] as number))).toBeLessThan(tol);
}

describe("onnx runtime", () => {
  it("serves a scikit-learn-style LinearRegressor with one [N, 3] float input as columns f0..f2", () => {
    const runtime = createOnnxRuntime(fixture("linear-regressor"));
    expect(runtime.kind).toBe("onnx");
    expect(runtime.signature.task).toBe("regression");
    expect(runtime.signature.inputs.map((c) => c.name)).toEqual(["f0", "f1", "f2"]);
    const rows = expected["linear-regressor"]?.inputs.float_input as number[][];
    const batch = decodeColumns(runtime.signature, {
      f0: rows.map((r) => r[0]),
      f1: rows.map((r) => r[1]),
      f2: rows.map((r) => r[2]),
    });
    close(runtime.predict(batch).predictions, expected["linear-regressor"]?.predictions as number[], 1e-5);
  });

  it("names a single wide input's columns from featureNames", () => {
    const runtime = createOnnxRuntime(fixture("linear-regressor"), { featureNames: ["a", "b", "c"] });
    expect(runtime.signature.inputs.map((c) => c.name)).toEqual(["a", "b", "c"]);
    let error: unknown;
    try {
      createOnnxRuntime(fixture("linear-regressor"), { featureNames: ["a"] });
    } catch (e) {
      error = e;
    }
    expect(isLoopmlError(error) && error.code).toBe("INVALID_ARGUMENT");
  });

  it("serves a classifier with named double and string inputs (missing and unknown values included)", () => {
    const runtime = createOnnxRuntime(fixture("mixed-classifier"));
    expect(runtime.signature).toEqual({
      inputs: [
        { name: "age", type: "double", nullable: true },
        { name: "city", type: "string", nullable: true },
      ],
      task: "multiclass",
      nClasses: 3,
    });
    const fx = expected["mixed-classifier"];
    const batch = decodeColumns(runtime.signature, fx?.inputs);
    const { predictions, probabilities } = runtime.predict(batch);
    const wanted = fx?.probabilities as number[][];
    close(probabilities as Float64Array, wanted.flat());
    expect(Array.from(predictions)).toEqual(wanted.map((p) => p.indexOf(Math.max(...p))));
  });

  it("serves an XGBoost-style binary classifier ([N, 2] probabilities, missing values)", () => {
    const runtime = createOnnxRuntime(fixture("xgboost-binary"));
    expect(runtime.signature.task).toBe("binary");
    expect(runtime.signature.nClasses).toBe(2);
    const rows = expected["xgboost-binary"]?.inputs.input as (number | null)[][];
    const batch = decodeColumns(runtime.signature, { f0: rows.map((r) => r[0]), f1: rows.map((r) => r[1]) });
    const { probabilities } = runtime.predict(batch);
    close(probabilities as Float64Array, (expected["xgboost-binary"]?.probabilities as number[][]).flat());
  });

  it("serves loopml's own ONNX export like the native model, through loadRuntimeFromFile", async () => {
    const x = Array.from({ length: 300 }, (_, i) => (i % 13 === 0 ? null : Math.sin(i)));
    const city = Array.from({ length: 300 }, (_, i) => ["a", "b", "c"][i % 3] as string);
    const y = x.map((v, i) => ((v ?? 0) + (city[i] === "b" ? 0.7 : 0) > 0.3 ? 1 : 0));
    const model = gbdt({ objective: "binary", nRounds: 10, maxDepth: 3, nThreads: 1 }).fit(
      frameFromColumns({ x, city, y }),
      "y",
    );
    const dir = mkdtempSync(join(tmpdir(), "loopml-onnx-"));
    try {
      const file = join(dir, "m.onnx");
      writeFileSync(file, gbdtToOnnx(model));
      const runtime = await loadRuntimeFromFile(file);
      expect(runtime.kind).toBe("onnx");
      const test = { x: [0.5, null, -0.2], city: ["b", null, "zzz"] };
      const { probabilities } = runtime.predict(decodeColumns(runtime.signature, test));
      const native = model.predictProba(frameFromColumns({ x: test.x, city: ["b", null, null] }));
      close(probabilities as Float64Array, Array.from(native), 1e-6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses bytes that are not ONNX", () => {
    let error: unknown;
    try {
      createOnnxRuntime(Buffer.from("definitely not protobuf"));
    } catch (e) {
      error = e;
    }
    expect(isLoopmlError(error) && error.code).toBe("INVALID_ARGUMENT");
  });
});
