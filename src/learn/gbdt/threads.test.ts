import { describe, expect, it } from "vitest";
import { frameFromColumns } from "../frame.ts";
import { createRng } from "../random.ts";
import { gbdt, loadModel } from "./index.ts";
import { workerJobCount } from "./thread-pool.ts";

describe("gbdt worker threads", () => {
  it("gives a bit-identical model and predictions with 2 threads as with 1", () => {
    // 25,000 rows x 20 features is just above the size where training and prediction switch to worker threads.
    const rng = createRng(21);
    const n = 25_000;
    const columns: Record<string, Float64Array> = {};
    for (let f = 0; f < 20; f++) {
      columns[`x${f}`] = Float64Array.from({ length: n }, () => (rng.next() < 0.05 ? NaN : rng.next()));
    }
    const x0 = columns.x0 as Float64Array;
    const x1 = columns.x1 as Float64Array;
    columns.y = Float64Array.from({ length: n }, (_, i) =>
      (x0[i] as number) > 0.5 !== (x1[i] as number) > 0.3 ? 1 : 0,
    );
    const frame = frameFromColumns(columns);
    const params = { objective: "binary", nRounds: 4, maxDepth: 3, learningRate: 0.3, seed: 3 } as const;
    const one = gbdt({ ...params, nThreads: 1 }).fit(frame, "y");
    expect(workerJobCount()).toBe(0);
    const two = gbdt({ ...params, nThreads: 2 }).fit(frame, "y");
    const afterFit = workerJobCount();
    expect(afterFit).toBeGreaterThan(0);
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    const serial = loadModel(one.toJSON(), { nThreads: 1 }).predict(frame);
    const parallel = loadModel(one.toJSON(), { nThreads: 2 }).predict(frame);
    expect(workerJobCount()).toBeGreaterThan(afterFit);
    expect(parallel).toEqual(serial);
    expect(parallel.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("partitions large nodes across threads into the same rows as one thread (with missing values and categories)", () => {
    // 80,000 rows: the root and its children are cut into one range per thread when partitioned.
    const rng = createRng(5);
    const n = 80_000;
    const columns: Record<string, Float64Array> = {};
    for (let f = 0; f < 6; f++) {
      columns[`x${f}`] = Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? NaN : rng.next()));
    }
    const codes = Int32Array.from({ length: n }, () => rng.int(12));
    const x0 = columns.x0 as Float64Array;
    columns.y = Float64Array.from({ length: n }, (_, i) =>
      (x0[i] as number) > 0.4 !== (codes[i] as number) % 3 > 0 ? 1 : 0,
    );
    const frame = frameFromColumns({
      ...columns,
      c: { codes, dictionary: Array.from({ length: 12 }, (_, i) => `c${i}`) },
    });
    const params = { objective: "binary", nRounds: 3, maxDepth: 4, learningRate: 0.3, seed: 4 } as const;
    const one = gbdt({ ...params, nThreads: 1 }).fit(frame, "y");
    const before = workerJobCount();
    const two = gbdt({ ...params, nThreads: 2 }).fit(frame, "y");
    expect(workerJobCount()).toBeGreaterThan(before);
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  });
});
