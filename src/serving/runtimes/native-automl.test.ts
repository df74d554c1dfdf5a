// AutoML models serve through the native runtime with exactly AutomlModel's blended predictions.
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { automl } from "../../automl/automl.ts";
import { loadAutomlModel, type AutomlModelJson } from "../../automl/model.ts";
import { syntheticFrame } from "../../automl/testing/synthetic.ts";
import { learner } from "../../learn/learner/index.ts";
import { registerServingRoutes } from "../server.ts";
import { frameFromColumns } from "../../learn/frame.ts";
import { gbdt, type Objective } from "../../learn/gbdt/index.ts";
import { decodeColumns } from "../decode.ts";
import { loadRuntime } from "./load.ts";

const N = 300;
const x = Array.from({ length: N }, (_, i) => (i % 13 === 0 ? null : Math.sin(i * 12.9898) * 2));
const z = Array.from({ length: N }, (_, i) => Math.cos(i * 78.233));
const score = x.map((v, i) => (v ?? 0.2) + 0.5 * (z[i] as number));
const TEST = { x: [0.5, null, -0.9, 0.1, 1.7], z: [0.2, -0.4, 0.9, 0, -1] };

/** Two differently tuned GBDTs blended 0.3 / 0.7, as AutoML's ensemble selection would weight them. */
function ensemble(objective: Objective, y: number[], classes: string[]): AutomlModelJson {
  const frame = frameFromColumns({ x, z, y });
  const fit = (depth: number, rounds: number) =>
    gbdt({
      objective,
      nRounds: rounds,
      maxDepth: depth,
      seed: 3,
      ...(objective === "multiclass" && { nClasses: 3 }),
    })
      .fit(frame, "y")
      .toJSON();
  return {
    format: "loopml-automl",
    version: 1,
    task: objective === "regression" ? "regression" : objective === "binary" ? "binary" : "multiclass",
    target: "y",
    metric: objective === "regression" ? "rmse" : "log_loss",
    classes,
    features: ["x", "z"],
    dropped: [],
    members: [
      { learner: "gbdt", trial: 1, weight: 0.3, model: fit(2, 10) },
      { learner: "gbdt", trial: 2, weight: 0.7, model: fit(4, 20) },
    ],
  };
}

describe("native AutoML runtime", () => {
  it.each([
    { objective: "binary" as const, y: score.map((s) => (s > 0 ? 1 : 0)), classes: ["no", "yes"] },
    {
      objective: "multiclass" as const,
      y: score.map((s) => (s < -0.5 ? 0 : s < 0.7 ? 1 : 2)),
      classes: ["lo", "mid", "hi"],
    },
  ])("blends a $objective ensemble's probabilities like AutomlModel", ({ objective, y, classes }) => {
    const doc = ensemble(objective, y, classes);
    const runtime = loadRuntime(JSON.parse(JSON.stringify(doc)));
    expect(runtime.signature).toMatchObject({ task: objective, nClasses: classes.length });
    const got = runtime.predict(decodeColumns(runtime.signature, TEST));
    const model = loadAutomlModel(doc);
    const frame = frameFromColumns(TEST);
    const want = model.predictProba(frame);
    expect(Array.from(got.probabilities ?? []).map((v, i) => v - (want[i] as number))).toEqual(
      Array.from(want, () => expect.closeTo(0, 12) as unknown),
    );
    expect(Array.from(got.predictions)).toEqual(Array.from(model.predict(frame)));
    expect(() => runtime.explain?.(decodeColumns(runtime.signature, TEST))).toThrow(
      /ensemble of classifiers/,
    );
  });

  it("blends a regression ensemble and explains it additively", () => {
    const doc = ensemble("regression", score, []);
    const runtime = loadRuntime(doc);
    const batch = decodeColumns(runtime.signature, TEST);
    const got = runtime.predict(batch).predictions;
    const want = loadAutomlModel(doc).predict(frameFromColumns(TEST));
    for (let r = 0; r < 5; r++) expect(got[r]).toBeCloseTo(want[r] as number, 12);
    const e = runtime.explain?.(batch);
    if (!e) throw new Error("a regression ensemble should explain");
    for (let r = 0; r < 5; r++) {
      const sum =
        (e.expectedValue[0] as number) +
        (e.contributions[r * 2] as number) +
        (e.contributions[r * 2 + 1] as number);
      expect(sum).toBeCloseTo(got[r] as number, 9);
    }
  });

  it("blends boosting, forest and linear members (inputs in any order) exactly like AutomlModel", async () => {
    const y = score.map((s) => (s < -0.5 ? 0 : s < 0.7 ? 1 : 2));
    const frame = frameFromColumns({ x, z, y });
    const gbdtDoc = ensemble("multiclass", y, ["lo", "mid", "hi"]);
    // Learner-interface members read the same raw columns, here listed in the other order.
    const rf = await learner("rf", {
      task: "multiclass",
      params: { nTrees: 8 },
      features: ["z", "x"],
      seed: 2,
    }).fit(frame, "y");
    const lin = await learner("linear", { task: "multiclass", features: ["x", "z"] }).fit(frame, "y");
    const doc: AutomlModelJson = {
      ...gbdtDoc,
      classes: ["lo", "mid", "hi"],
      members: [
        { ...(gbdtDoc.members[0] as AutomlModelJson["members"][number]), weight: 0.5 },
        { learner: "rf", trial: 3, weight: 0.3, model: rf.toJSON() },
        { learner: "linear", trial: 4, weight: 0.2, model: lin.toJSON() },
      ],
    };
    const runtime = loadRuntime(JSON.parse(JSON.stringify(doc)));
    const got = runtime.predict(decodeColumns(runtime.signature, TEST));
    const model = loadAutomlModel(JSON.parse(JSON.stringify(doc)));
    expect(Array.from(got.probabilities ?? [])).toEqual(
      Array.from(model.predictProba(frameFromColumns(TEST))),
    );
    expect(Array.from(got.predictions)).toEqual(Array.from(model.predict(frameFromColumns(TEST))));
    expect(() => runtime.explain?.(decodeColumns(runtime.signature, TEST))).toThrow(/boosting members only/);
  });

  it.each(["rf", "linear"] as const)(
    "serves an AutoML winner from the %s learner over HTTP exactly like the in-process model",
    async (kind) => {
      const frame = syntheticFrame({ rows: 200, task: "binary", seed: 11 });
      const result = await automl(frame, {
        target: "target",
        learners: [kind],
        maxTrials: 3,
        seed: 5,
        parallel: 1,
      });
      expect(result.model.members.every((m) => m.learner === kind)).toBe(true);
      const app = Fastify();
      try {
        await registerServingRoutes(app, {
          models: [
            {
              name: "m",
              version: "1",
              aliases: [],
              runtime: loadRuntime(JSON.parse(JSON.stringify(result.model))),
            },
          ],
        });
        const rows = {
          a: [1.5, -0.3, 0.2],
          b: [-1, 0.4, 1.9],
          c: [0.1, 0.2, -0.7],
          noise: [0, 1, 2],
          color: ["red", "blue", null],
        };
        const res = await app.inject({
          method: "POST",
          url: "/v1/models/m/predict",
          payload: { inputs: rows, probabilities: true },
        });
        expect(res.statusCode).toBe(200);
        const body = res.json<{ predictions: number[]; probabilities: number[][] }>();
        const local = result.model.predictProba(frameFromColumns(rows));
        expect(body.probabilities.flat()).toEqual(Array.from(local));
        expect(body.predictions).toEqual(Array.from(result.model.predict(frameFromColumns(rows))));
      } finally {
        await app.close();
      }
    },
  );

  it("refuses an AutoML document without members", () => {
    expect(() => loadRuntime({ format: "loopml-automl", version: 1, members: [] })).toThrow(
      /at least one member/,
    );
  });
});
