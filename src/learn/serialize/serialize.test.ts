import { describe, expect, it } from "vitest";
import { isLoopmlError } from "../../errors.ts";
import { frameFromColumns, type Frame } from "../frame.ts";
import { gbdt, GbdtModel } from "../gbdt/index.ts";
import type { FlatForest, ResolvedParams } from "../gbdt/types.ts";
import { createRng } from "../random.ts";
import { loadRuntimeFromBytes } from "../../serving/runtimes/load.ts";
import { deserializeModel, isEnvelope, serializeModel } from "./index.ts";

function data(n: number, seed: number): Frame {
  const rng = createRng(seed);
  const a = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next()));
  const b = Array.from({ length: n }, () => ["x", "y", "z"][rng.int(3)] as string);
  const c = Float64Array.from({ length: n }, () => rng.next());
  const y = a.map((v, i) =>
    (Number.isNaN(v) ? 0.3 : v) + (b[i] === "y" ? 0.5 : 0) + 0.2 * (c[i] as number) > 0.7 ? 1 : 0,
  );
  return frameFromColumns({ a, b, c, y });
}

function codeOf(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return isLoopmlError(e) ? e.code : e;
  }
  return undefined;
}

/** 100 complete depth-6 trees over 28 features, built directly (no training), like the benchmark model. */
function bigModel(): GbdtModel {
  const rng = createRng(5);
  const trees = 100;
  const perTree = 127;
  const n = trees * perTree;
  const forest: FlatForest = {
    feature: new Int32Array(n),
    threshold: new Float64Array(n),
    categories: new Int32Array(n).fill(-1),
    categoryBits: new Int32Array(0),
    left: new Int32Array(n).fill(-1),
    right: new Int32Array(n).fill(-1),
    defaultLeft: new Uint8Array(n),
    value: new Float64Array(n),
    gain: new Float64Array(n),
    roots: Int32Array.from({ length: trees }, (_, t) => t * perTree),
  };
  for (let t = 0; t < trees; t++) {
    // Breadth-first numbering: children of i are 2i+1 and 2i+2 (right = left + 1).
    for (let i = 0; i < perTree; i++) {
      const node = t * perTree + i;
      if (i < 63) {
        forest.feature[node] = rng.int(28);
        forest.threshold[node] = rng.next();
        forest.left[node] = t * perTree + 2 * i + 1;
        forest.right[node] = t * perTree + 2 * i + 2;
        forest.defaultLeft[node] = rng.int(2);
        forest.gain[node] = rng.next();
      } else {
        forest.feature[node] = -1;
        forest.value[node] = rng.next() - 0.5;
      }
    }
  }
  return new GbdtModel({
    objective: "binary",
    label: "y",
    nOutputs: 1,
    baseScore: [0],
    bestIteration: trees - 1,
    params: {} as ResolvedParams,
    features: Array.from({ length: 28 }, (_, f) => ({ name: `f${f}`, kind: "numeric" as const })),
    forest,
    nThreads: 1,
  });
}

describe("model envelope", () => {
  const train = data(1500, 1);
  const test = data(300, 2);
  const model = gbdt({ objective: "binary", nRounds: 20, maxDepth: 4, seed: 1, nThreads: 1 }).fit(train, "y");

  it("round-trips a GBDT bit for bit, with its TreeSHAP covers", () => {
    const bytes = serializeModel(model, { background: train });
    expect(isEnvelope(bytes)).toBe(true);
    // Smaller than the JSON form (which stores arrays as base64).
    expect(bytes.length).toBeLessThan(JSON.stringify(model.toJSON()).length);
    const loaded = deserializeModel(bytes);
    expect(loaded.learner).toBe("gbdt");
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = loaded.model as GbdtModel;
    expect(Array.from(again.predictRaw(test))).toEqual(Array.from(model.predictRaw(test)));
    const one = frameFromColumns({ a: [0.4], b: ["y"], c: [0.1] });
    expect(Array.from(again.explain(one).contributions)).toEqual(
      Array.from(model.explain(one, { background: train }).contributions),
    );
    // Serializing the loaded model keeps its covers: same bytes.
    expect(Buffer.from(serializeModel(again)).equals(Buffer.from(bytes))).toBe(true);
    // Works from an unaligned copy too (e.g. a slice of a larger buffer).
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    expect(Array.from((deserializeModel(shifted.subarray(3)).model as GbdtModel).predictRaw(test))).toEqual(
      Array.from(model.predictRaw(test)),
    );
  });

  it("is what the native serving runtime loads from a registered artifact", async () => {
    const runtime = await loadRuntimeFromBytes(serializeModel(model), "native", "test model");
    expect(runtime.kind).toBe("native");
    expect(runtime.signature.task).toBe("binary");
  });

  it("still reads the legacy loopml-gbdt JSON (object, text or bytes)", () => {
    const json = model.toJSON();
    for (const input of [json, JSON.stringify(json), Buffer.from(JSON.stringify(json))]) {
      const loaded = deserializeModel(input);
      expect(loaded.sha256).toBeNull();
      expect(Array.from((loaded.model as GbdtModel).predict(test))).toEqual(Array.from(model.predict(test)));
    }
  });

  it("refuses altered, truncated, future-version and unknown inputs with INVALID_ARGUMENT", () => {
    const bytes = serializeModel(model);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] as number) ^ 1;
    expect(codeOf(() => deserializeModel(flipped))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => deserializeModel(bytes.subarray(0, bytes.length - 8)))).toBe("INVALID_ARGUMENT");
    const future = Uint8Array.from(bytes);
    new DataView(future.buffer).setUint32(8, 2, true);
    expect(codeOf(() => deserializeModel(future))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => deserializeModel(Buffer.from("not a model")))).toBe("INVALID_ARGUMENT");
    expect(codeOf(() => serializeModel({ predict: () => 1 }))).toBe("INVALID_ARGUMENT");
  });

  it("loads a 100-tree depth-6 model in milliseconds", () => {
    const big = bigModel();
    const bytes = serializeModel(big);
    deserializeModel(bytes); // warm up
    // Median of 21 loads: the machine is shared, so single runs see other processes' bursts.
    const times = Array.from({ length: 21 }, () => {
      const start = performance.now();
      deserializeModel(bytes);
      return performance.now() - start;
    }).sort((x, y) => x - y);
    const ms = times[10] as number;
    const jsonText = JSON.stringify(big.toJSON());
    console.log(
      `envelope ${bytes.length} bytes, load ${ms.toFixed(2)} ms (JSON form ${jsonText.length} bytes)`,
    );
    expect(ms).toBeLessThan(25);
  });
});

describe("model envelope for other learners", () => {
  it("round-trips a random forest (with covers) and a linear model", async () => {
    const { randomForest } = await import("../random-forest/index.ts");
    const { linear } = await import("../linear/index.ts");
    const train = frameFromColumns({
      a: Float64Array.from({ length: 300 }, (_, i) => Math.sin(i)),
      c: Float64Array.from({ length: 300 }, (_, i) => Math.cos(i * 1.7)),
      y: Float64Array.from({ length: 300 }, (_, i) => (Math.sin(i) + Math.cos(i * 1.7) > 0 ? 1 : 0)),
    });
    const forest = await randomForest({ task: "binary", nTrees: 5, maxDepth: 4, seed: 1, nThreads: 1 }).fit(
      train,
      "y",
    );
    const loadedForest = deserializeModel(serializeModel(forest, { background: train }));
    expect(loadedForest.learner).toBe("random-forest");
    const f2 = loadedForest.model as typeof forest;
    expect(Array.from(f2.predict(train))).toEqual(Array.from(forest.predict(train)));
    const one = frameFromColumns({ a: [0.3], c: [-0.2] });
    expect(Array.from(f2.explain(one).contributions)).toEqual(
      Array.from(forest.explain(one, { background: train }).contributions),
    );
    const lin = linear({ task: "binary" }).fit(train, "y");
    const loadedLinear = deserializeModel(serializeModel(lin));
    expect(loadedLinear.learner).toBe("linear");
    expect(Array.from((loadedLinear.model as typeof lin).predict(train))).toEqual(
      Array.from(lin.predict(train)),
    );
  });
});
