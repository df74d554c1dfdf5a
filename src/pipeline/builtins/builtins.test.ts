import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../../test/setup/tmp.ts";
import { createDataService } from "../../data/service.ts";
import { createRegistryEvents } from "../../registry/events.ts";
import { createRegistryService } from "../../registry/service.ts";
import { createTrackingService } from "../../tracking/service.ts";
import { openWorkspace, type Workspace } from "../../workspace.ts";
import { builtins, definePipeline } from "../define.ts";
import { runPipeline } from "../executor.ts";
import { parsePipelinesYaml } from "../parse.ts";
import { stepCacheKey } from "../plan.ts";
import { pipelineDeps } from "../service.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
beforeEach(async () => {
  tmp = makeTempDir();
  ws = await openWorkspace({ dir: tmp.path });
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

/** A learnable table: late = 1 when x + noise > shift. */
function table(rows: number, shift: number, seed: number): string {
  let s = seed;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines = ["x,z,late"];
  for (let i = 0; i < rows; i++) {
    const x = rnd() * 4 - 2 + shift;
    lines.push(`${x.toFixed(3)},${(rnd() * 10).toFixed(2)},${x + (rnd() - 0.5) > 0 ? 1 : 0}`);
  }
  return `${lines.join("\n")}\n`;
}

const retrain = definePipeline({
  name: "retrain",
  steps: {
    train: builtins.automl({ data: "dataset:flights@1", target: "late", maxTrials: 3, ensemble: false }),
    score: builtins.evaluate({ model: "build/train/model.json", data: "dataset:flights@2" }),
    register: builtins.register({
      model: "build/train/model.json",
      name: "flights",
      metrics: "build/score/metrics.json",
    }),
    promote: builtins.promote({ registered: "build/register/registered.json", to: "production" }),
    drift: builtins.driftCheck({ reference: "dataset:flights@1", current: "dataset:flights@2" }),
  },
});

describe("built-in steps", () => {
  it("automl → evaluate → register → promote, and drift-check, with typed outputs, lineage and cache", async () => {
    const data = createDataService(ws);
    writeFileSync(join(tmp.path, "flights.csv"), table(300, 0, 1));
    const v1 = (await data.add("flights.csv", { name: "flights" })).version;
    writeFileSync(join(tmp.path, "flights.csv"), table(300, 1.5, 2));
    await data.add("flights.csv", { name: "flights" });

    const result = await runPipeline(pipelineDeps(ws), retrain, { jobs: 2 });
    expect(result.steps.map((s) => [s.step, s.status, s.error ?? ""])).toEqual(
      ["train", "drift", "score", "register", "promote"].map((n) => [n, "succeeded", ""]),
    );
    const score = result.steps.find((s) => s.step === "score");
    expect(score?.metrics["accuracy"]).toBeGreaterThan(0.6);
    expect(score?.metrics["roc_auc"]).toBeGreaterThan(0.6);
    expect(result.steps.find((s) => s.step === "drift")?.metrics["drifted"]).toBe(1);

    const registry = createRegistryService({ ...ws, events: createRegistryEvents() }, { role: "admin" });
    const prod = await registry.getVersion("flights", "production");
    expect(prod.version).toBe(1);
    expect(prod.pipelineRun).toBe(result.runId);
    expect(prod.metrics["roc_auc"]).toBe(score?.metrics["roc_auc"]);
    expect(prod.datasets).toEqual([{ dataset: "flights", version: v1.id, context: "training" }]);
    expect(JSON.parse(readFileSync(join(tmp.path, "build/promote/promotion.json"), "utf8"))).toMatchObject({
      model: "flights",
      version: 1,
      alias: "production",
      status: "moved",
    });
    // The evaluate metrics are on the step's nested tracked run.
    const tracked = await createTrackingService(ws).getRun(score?.trackingRunId as string);
    expect(tracked.metrics["accuracy"]?.last).toBe(score?.metrics["accuracy"]);

    // Nothing changed: every built-in is reused, so no second registry version appears.
    const again = await runPipeline(pipelineDeps(ws), retrain, { jobs: 2 });
    expect(again.steps.every((s) => s.status === "cached")).toBe(true);
    expect((await registry.listVersions("flights")).length).toBe(1);
  });

  it("keys a built-in on its version and inputs, and rejects bad `with` values at parse time", () => {
    const yaml = `pipelines:
  p:
    stages:
      train:
        uses: automl
        with: { data: "dataset:flights@latest", target: late, budget: 10s }
`;
    const spec = parsePipelinesYaml(yaml).get("p")?.steps[0];
    expect(spec?.code).toBe("builtin:automl@1");
    expect(spec?.deps).toEqual([{ kind: "dataset", name: "flights", version: "latest" }]);
    expect(spec?.outs).toEqual(["build/train/model.json"]);
    const key = stepCacheKey(spec!, { target: "late" }, ["a"]);
    expect(stepCacheKey({ ...spec!, code: "builtin:automl@2" }, { target: "late" }, ["a"])).not.toBe(key);

    expect(() => parsePipelinesYaml(yaml.replace("target: late, ", ""))).toThrow(
      /loopml.yaml:6 pipelines.p.stages.train.with: "with" for automl is invalid: target/,
    );
    expect(() => parsePipelinesYaml(yaml.replace("uses: automl", "uses: autoML"))).toThrow(
      /unknown built-in "autoML" \(built-ins: automl, evaluate, register, promote, drift-check\)/,
    );
    expect(() => parsePipelinesYaml(yaml.replace("uses: automl", "uses: automl\n        run: x"))).toThrow(
      /"run" is not allowed with "uses:"/,
    );
  });
});
