import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createTrackingService } from "../tracking/service.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { definePipeline, step } from "./define.ts";
import { runPipeline } from "./executor.ts";
import { pipelineDeps } from "./service.ts";
import { TAG_PIPELINE_RUN } from "./tracked.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
beforeEach(async () => {
  tmp = makeTempDir();
  ws = await openWorkspace({ dir: tmp.path });
  mkdirSync(join(tmp.path, "data"));
  writeFileSync(join(tmp.path, "data", "raw.txt"), "b\na\n");
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

const pipeline = definePipeline({
  name: "tracked",
  steps: {
    train: step({
      run: 'echo "fitting ${params.lr}"; echo "warn: slow" >&2; echo \'{"auc": 0.91, "loss": {"train": 0.2}}\' > build/metrics.json',
      deps: ["data/raw.txt"],
      params: { lr: 0.1 },
      metrics: "build/metrics.json",
    }),
    broken: step({ run: "echo half; exit 3", deps: ["data/raw.txt"] }),
    after: step({ run: "true", deps: ["build/metrics.json", "data/raw.txt"], outs: [] }),
  },
});

describe("tracked pipeline runs", () => {
  it("nests one run per step under the pipeline's run, with metrics, params and the captured log", async () => {
    const tracking = createTrackingService(ws);
    const result = await runPipeline(pipelineDeps(ws), pipeline, { jobs: 2, keepGoing: true });
    expect(result.status).toBe("failed");
    const parentId = result.trackingRunId as string;
    const parent = await tracking.getRun(parentId);
    expect(parent.info.status).toBe("FAILED");
    expect(parent.tags[TAG_PIPELINE_RUN]).toBe(result.runId);

    const children = await ws.store.db
      .selectFrom("runs")
      .select(["id", "name", "status"])
      .where("parent_run_id", "=", parentId)
      .orderBy("name")
      .execute();
    expect(children.map((c) => [c.name, c.status])).toEqual([
      ["after", "FINISHED"],
      ["broken", "FAILED"],
      ["train", "FINISHED"],
    ]);
    const train = result.steps.find((s) => s.step === "train");
    const trained = await tracking.getRun(train?.trackingRunId as string);
    expect(trained.metrics["auc"]?.last).toBe(0.91);
    expect(trained.metrics["loss.train"]?.last).toBe(0.2);
    expect(trained.params["lr"]).toBe("0.1");
    const [log] = await tracking.listArtifacts(trained.info.id, "logs");
    expect(log?.path).toBe("logs/train.log");
    const text = (await ws.blobs.getBytes(log?.blobId as string)).toString("utf8");
    expect(text).toContain("fitting 0.1");
    expect(text).toContain("warn: slow");

    const broken = await tracking.getRun(
      result.steps.find((s) => s.step === "broken")?.trackingRunId as string,
    );
    expect(broken.tags["loopml.error"]).toMatch(/exited with 3/);

    // A fully cached re-run is tracked too: the reused metrics land on the new nested run.
    const again = await runPipeline(pipelineDeps(ws), pipeline, { jobs: 2, keepGoing: true });
    const cached = again.steps.find((s) => s.step === "train");
    expect(cached?.status).toBe("cached");
    const reused = await tracking.getRun(cached?.trackingRunId as string);
    expect(reused.info.parentRunId).toBe(again.trackingRunId);
    expect(reused.tags["loopml.step_status"]).toBe("cached");
    expect(reused.metrics["auc"]?.last).toBe(0.91);
  });
});
