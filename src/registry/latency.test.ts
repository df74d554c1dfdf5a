// The latency-budget gate: the candidate is loaded with the serving runtime and a batch is timed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { isLoopmlError } from "../errors.ts";
import { loadRuntime } from "../serving/runtimes/load.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { createRegistryEvents } from "./events.ts";
import { parsePolicy } from "./gates.ts";
import { syntheticBatch } from "./latency.ts";
import { createRegistryService, type RegistryService } from "./service.ts";

const MODEL = join(import.meta.dirname, "..", "serving", "fixtures", "xgb-binary", "m.json");

describe("latency budget gate", () => {
  const tmp = makeTempDir();
  let ws: Workspace;
  let registry: RegistryService;
  let good = 0;
  let broken = 0;
  beforeAll(async () => {
    ws = await openWorkspace({
      dir: tmp.path,
      store: "sqlite:.loopml/loopml.db",
      artifacts: `file:${join(tmp.path, "objects")}`,
      actor: "tester",
    });
    registry = createRegistryService({ ...ws, events: createRegistryEvents() }, { role: "admin" });
    await registry.createModel("churn", { policy: { latencyBudget: { maxMs: 60_000, batchRows: 500 } } });
    const model = await ws.blobs.put(readFileSync(MODEL));
    const junk = await ws.blobs.put(Buffer.from("not a model"));
    good = (await registry.createVersion("churn", { blobId: model.id, flavor: "xgboost-json" })).version;
    broken = (await registry.createVersion("churn", { blobId: junk.id, flavor: "xgboost-json" })).version;
  });
  afterAll(async () => {
    await ws.close();
    tmp.remove();
  });

  it("passes a model that predicts the batch within the budget, with the measured time in the report", async () => {
    const result = await registry.promote("churn", good, { to: "champion" });
    expect(result.status).toBe("moved");
    const rule =
      result.status === "moved"
        ? result.report.rules.find((r) => r.rule.startsWith("predicting"))
        : undefined;
    expect(rule).toMatchObject({ rule: "predicting 500 rows takes ≤ 60000 ms", passed: true });
    expect(rule?.detail).toMatch(/xgboost-json\) predicted 500 rows in [\d.]+ ms/);
  });

  it("refuses when the batch takes longer than the budget, listing the rule", async () => {
    await registry.setPolicy("churn", { latencyBudget: { maxMs: 1e-9, batchRows: 2000 } });
    const err = await registry.promote("churn", good, { to: "staging" }).catch((e: unknown) => e);
    expect(isLoopmlError(err) && err.code).toBe("FAILED_PRECONDITION");
    expect(String((err as Error).message)).toContain("predicting 2000 rows takes ≤ 1e-9 ms");
    const report = await registry.checkGate("churn", good, "staging");
    expect(report.passed).toBe(false);
    // An admin may still force it, and the report keeps the failed rule.
    const forced = await registry.promote("churn", good, { to: "staging", force: true });
    expect(forced.status === "moved" && forced.forced).toBe(true);
  });

  it("fails a version whose artifact cannot be loaded", async () => {
    await registry.setPolicy("churn", { latencyBudget: { maxMs: 60_000 } });
    const report = await registry.checkGate("churn", broken, "champion");
    const rule = report.rules.find((r) => r.rule.startsWith("predicting 1000 rows"));
    expect(rule?.passed).toBe(false);
    expect(rule?.detail).toContain(`cannot load v${broken}`);
  });

  it("validates the budget and builds batches that match the signature", () => {
    expect(() => parsePolicy({ latencyBudget: { maxMs: -1 } })).toThrow(/maxMs/);
    expect(() => parsePolicy({ latencyBudget: { maxMs: 5, batchRows: 0.5 } })).toThrow(/batchRows/);
    expect(parsePolicy({ latencyBudget: { maxMs: 5 } }).latencyBudget).toEqual({ maxMs: 5, batchRows: 1000 });
    const runtime = loadRuntime(JSON.parse(readFileSync(MODEL, "utf8")) as unknown);
    const batch = syntheticBatch(runtime, 64);
    expect(batch.values).toHaveLength(64 * runtime.signature.inputs.length);
    expect(runtime.predict(batch).predictions).toHaveLength(64);
  });
});
