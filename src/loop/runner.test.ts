// The loop runner over a real monitor: an alert starts a retrain, and a window that still alerts after that
// retrain finished asks again (within the cooldown it is skipped, never silently dropped).
import { afterEach, beforeEach, expect, it } from "vitest";
import { createManualClock } from "../_internal/clock.ts";
import { createMonitorService } from "../monitoring/monitors.ts";
import type { Workspace } from "../workspace.ts";
import { createMemoryPort, type DeploymentSpec } from "./contracts.ts";
import type { RetrainDecl } from "./desired-state.ts";
import { createRetrainer } from "./retrain.ts";
import { createLoopRunner } from "./runner.ts";
import { formatStory, modelEvents } from "./story.ts";
import { gbdtTrainer, openLoopProject, type LoopProject } from "./testing/loop-project.ts";

let project: LoopProject;
let ws: Workspace;
const clock = createManualClock();
const trainer = gbdtTrainer(10);

/** Version `n` of dataset "d": x shifted by `shift` (drift), y = x > median. */
async function version(shift: number): Promise<void> {
  const lines = ["x,y"];
  for (let i = 0; i < 1000; i++) {
    const x = ((i * 7919) % 1000) / 1000 + shift;
    lines.push(`${x},${x > 0.5 + shift ? 1 : 0}`);
  }
  await project.addVersion(`${lines.join("\n")}\n`);
}

beforeEach(async () => {
  project = await openLoopProject(clock);
  ws = project.ws;
  await version(0);
});
afterEach(() => project.close());

it("retrains on an alert, and again when a later window still alerts after that retrain finished", async () => {
  const monitors = createMonitorService(ws);
  await monitors.upsert({
    name: "drift",
    dataset: "d",
    reference: "dataset:d@1",
    window: { rows: 1000 },
    columns: ["x"],
    alerts: [{ when: "drift_share >= 0.5" }],
  });
  const policy: RetrainDecl = {
    on: { monitors: ["drift"] },
    target: "y",
    automl: { target: "y" },
    data: { dataset: "d" },
    cooldown: "1h",
  };
  const retrainer = createRetrainer({
    ws,
    registry: project.registry,
    deployments: createMemoryPort<DeploymentSpec>(),
    trainer,
  });
  const runner = createLoopRunner(ws, retrainer, { m: policy });
  const statuses = async (): Promise<string[]> => (await runner.tick()).retrains.map((r) => r.outcome.status);

  expect(await statuses()).toEqual([]);
  await monitors.run("drift");
  expect(await statuses()).toEqual([]); // no drift against itself
  await version(0.5);
  expect((await monitors.run("drift")).alerts.map((a) => a.transition)).toEqual(["fire"]);
  expect(await statuses()).toEqual(["promoted"]);

  clock.advance(60_000);
  await monitors.run("drift"); // still firing: no new alert event, but the retrain is over
  expect(await statuses()).toEqual(["skipped"]); // …within the cooldown
  clock.advance(2 * 3_600_000);
  await monitors.run("drift");
  // It ran (on the same data its candidate only ties the champion, so the gate keeps the champion).
  expect(await statuses()).toEqual(["rejected"]);
  const starts = await ws.audit.list({ action: "retrain.start" });
  expect(starts[1]?.details).toMatchObject({ cause: "monitor", monitor: "drift", stillFiring: true });
  expect(formatStory(await modelEvents(ws.audit, "m"))).toMatch(
    /retrain started \(monitor: monitor drift still alerting after the last retrain, drift_share >= 0\.5 value 1\b/,
  );
  expect(await statuses()).toEqual([]); // nothing new since
});
