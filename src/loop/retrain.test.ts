// The retrain policy over a real workspace: fresh-holdout comparison, promotion, rejection with an alert,
// canary with a bake period, and the guard rails (in flight, cooldown, budget) — each decision audited.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createManualClock } from "../_internal/clock.ts";
import type { RegistryService } from "../registry/service.ts";
import type { Workspace } from "../workspace.ts";
import { createMemoryPort, type DeploymentSpec } from "./contracts.ts";
import type { RetrainDecl } from "./desired-state.ts";
import { createRetrainer, type Trainer } from "./retrain.ts";
import { createLoopRunner } from "./runner.ts";
import { formatStory, modelEvents } from "./story.ts";
import { gbdtTrainer, openLoopProject, type LoopProject } from "./testing/loop-project.ts";
import { automlTrainer } from "./trainers.ts";

let project: LoopProject;
let ws: Workspace;
let registry: RegistryService;
const clock = createManualClock();

/** y follows x > 0.5 ("before") or x < 0.5 ("after": the concept flipped). */
function csv(flipped: boolean, n = 1200): string {
  const lines = ["t,x,c,y"];
  for (let i = 0; i < n; i++) {
    const x = ((i * 7919) % 1000) / 1000;
    const y = flipped ? (x < 0.5 ? 1 : 0) : x > 0.5 ? 1 : 0;
    lines.push(`${i},${x},${i % 3 === 0 ? "a" : "b"},${(i * 31) % 17 === 0 ? 1 - y : y}`);
  }
  return `${lines.join("\n")}\n`;
}

const quickTrainer = gbdtTrainer(20);

const policy: RetrainDecl = {
  on: { monitors: ["drift"] },
  target: "y",
  automl: { target: "y" },
  data: { dataset: "d", window: { rows: 1000, timeColumn: "t" } },
};

const version = (flipped: boolean): Promise<void> => project.addVersion(csv(flipped));

beforeEach(async () => {
  project = await openLoopProject(clock, { policy: { metricRules: [{ metric: "roc_auc", op: ">=" }] } });
  ({ ws, registry } = project);
  await version(false);
});
afterEach(() => project.close());

const manual = { kind: "manual" as const, detail: {} };
const actions = async (): Promise<string[]> =>
  (await ws.audit.list({ targetPrefix: "model:m", limit: 1000 }))
    .map((e) => e.action)
    .filter((a) => a.startsWith("retrain."));

describe("retrain", () => {
  it("promotes the first model, then a retrain on shifted data that wins on the fresh holdout", async () => {
    const r = createRetrainer({
      ws,
      registry,
      deployments: createMemoryPort<DeploymentSpec>(),
      trainer: quickTrainer,
    });
    const first = await r.retrain("m", policy, manual);
    expect(first).toMatchObject({ status: "promoted", candidate: 1, champion: null });
    expect((await registry.getModel("m")).aliases["production"]).toBe(1);

    await version(true);
    const second = await r.retrain("m", policy, {
      kind: "monitor",
      detail: { monitor: "drift", value: 0.6 },
    });
    if (second.status !== "promoted") throw new Error(JSON.stringify(second));
    expect(second.champion).toBe(1);
    expect(second.candidateScore).toBeGreaterThan(0.85);
    expect(second.championScore).toBeLessThan(0.2);
    expect((await registry.getModel("m")).aliases["production"]).toBe(2);
    expect(
      (await registry.getVersion("m", 2)).datasets.map((d) => `${d.context}:${d.dataset}@${d.version}`),
    ).toEqual(["training:d@2", "holdout:d@2"]);
    expect(await actions()).toEqual([
      "retrain.start",
      "retrain.evaluate",
      "retrain.promote",
      "retrain.start",
      "retrain.evaluate",
      "retrain.promote",
    ]);
    const story = formatStory(await modelEvents(ws.audit, "m"));
    expect(story).toMatch(/retrain started \(monitor: monitor drift alerted, {2}value 0\.6/);
    expect(story).toMatch(
      /candidate v2 scored roc_auc 0\.9\d+ vs champion v1 0\.\d+ on the same holdout \(d@2, newest 200 rows\)/,
    );
    expect(story).toMatch(/promoted v2 to @production \(was v1\)/);
    expect((await ws.audit.verify()).ok).toBe(true);
  });

  it("keeps the champion and raises an alert with the reasons when the candidate does not win", async () => {
    const r = createRetrainer({
      ws,
      registry,
      deployments: createMemoryPort<DeploymentSpec>(),
      trainer: quickTrainer,
    });
    await r.retrain("m", policy, manual);
    const again = await r.retrain("m", { ...policy, promote: { minImprovement: 0.05 } }, manual);
    expect(again.status).toBe("rejected");
    if (again.status !== "rejected") return;
    expect(again.reasons[0]).toMatch(/does not beat v1's .* by 0\.05/);
    expect((await registry.getModel("m")).aliases["production"]).toBe(1);
    const alert = (await ws.audit.list({ action: "retrain.alert" }))[0];
    expect(alert?.details).toMatchObject({ severity: "warning" });
  });

  it("skips while a retrain is in flight, during the cooldown and beyond the budget", async () => {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inTrainer = new Promise<void>((resolve) => (entered = resolve));
    const slow: Trainer = async (req) => {
      await new Promise<void>((resolve) => {
        release = resolve;
        entered();
      });
      return quickTrainer(req);
    };
    const r = createRetrainer({
      ws,
      registry,
      deployments: createMemoryPort<DeploymentSpec>(),
      trainer: slow,
    });
    const running = r.retrain("m", policy, manual);
    await inTrainer;
    expect(await r.retrain("m", policy, manual)).toMatchObject({
      status: "skipped",
      reason: expect.stringMatching(/in flight/) as unknown,
    });
    release();
    await running;

    const guarded = { ...policy, cooldown: "1h", budget: { maxRuns: 2, per: "1d" } };
    expect(await r.retrain("m", guarded, manual)).toMatchObject({
      reason: expect.stringMatching(/^cooldown/) as unknown,
    });
    clock.advance(2 * 3_600_000);
    const fast = createRetrainer({
      ws,
      registry,
      deployments: createMemoryPort<DeploymentSpec>(),
      trainer: quickTrainer,
    });
    expect((await fast.retrain("m", guarded, manual)).status).not.toBe("skipped");
    clock.advance(2 * 3_600_000);
    expect(await fast.retrain("m", guarded, manual)).toMatchObject({
      reason: expect.stringMatching(/^budget: 2 retrains/) as unknown,
    });
    expect((await actions()).filter((a) => a === "retrain.skip")).toHaveLength(3);
  });

  it("starts a canary, then promotes after a clean bake period", async () => {
    const deployments = createMemoryPort<DeploymentSpec>([{ name: "web", model: "m@production" }]);
    const r = createRetrainer({ ws, registry, deployments, trainer: quickTrainer });
    await r.retrain("m", policy, manual);
    await version(true);
    const canaryPolicy = { ...policy, promote: { canary: { deployment: "web", weight: 0.1, bake: "10m" } } };
    expect((await r.retrain("m", canaryPolicy, manual)).status).toBe("canary");
    expect((await deployments.list())[0]?.canary).toEqual({ model: "m@challenger", weight: 0.1 });
    expect((await registry.getModel("m")).aliases).toEqual({ production: 1, challenger: 2 });
    expect(await r.settleCanaries()).toEqual([]);
    clock.advance(11 * 60_000);
    expect(await r.settleCanaries()).toEqual([{ model: "m", status: "promoted" }]);
    expect((await registry.getModel("m")).aliases["production"]).toBe(2);
    expect((await deployments.list())[0]).toEqual({ name: "web", model: "m@production" });
  });

  it("trains with AutoML as a tracked run", async () => {
    const r = createRetrainer({
      ws,
      registry,
      deployments: createMemoryPort<DeploymentSpec>(),
      trainer: automlTrainer(ws),
    });
    const out = await r.retrain(
      "m",
      { ...policy, automl: { target: "y", maxTrials: 3, timeBudget: 20 } },
      manual,
    );
    expect(out.status).toBe("promoted");
    const v = await registry.getVersion("m", 1);
    expect(v.runId).not.toBeNull();
    expect(v.signature?.inputs.map((c) => c.name)).toEqual(["x", "c"]);
  });

  it("retrains when a monitor it follows alerts, from the audit trail, without replaying older alerts", async () => {
    const r = createRetrainer({
      ws,
      registry,
      deployments: createMemoryPort<DeploymentSpec>(),
      trainer: quickTrainer,
    });
    const alert = (monitor: string) =>
      ws.audit.record({
        actor: "monitor",
        action: "monitor.alert",
        target: `monitor:${monitor}`,
        details: { rule: "drift_share >= 0.3", value: 0.5 },
      });
    await alert("drift");
    const runner = createLoopRunner(ws, r, { m: policy });
    expect((await runner.tick()).retrains).toEqual([]);
    await alert("other");
    expect((await runner.tick()).retrains).toEqual([]);
    await alert("drift");
    await alert("drift");
    const t = await runner.tick();
    expect(t.retrains.map((x) => [x.model, x.outcome.status])).toEqual([["m", "promoted"]]);
    expect((await ws.audit.list({ action: "retrain.start" }))[0]?.details).toMatchObject({
      cause: "monitor",
      monitor: "drift",
      value: 0.5,
    });
    expect((await runner.tick()).retrains).toEqual([]);
  });
});
