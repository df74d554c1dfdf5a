import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createManualClock } from "../_internal/clock.ts";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { definePipeline, step } from "./define.ts";
import { createScheduler } from "./scheduler.ts";
import { parseAutomationYaml } from "./schedules.ts";
import { pipelineDeps } from "./service.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
const clock = createManualClock(Date.parse("2026-03-10T10:00:30Z"));
beforeEach(async () => {
  tmp = makeTempDir();
  clock.set(Date.parse("2026-03-10T10:00:30Z"));
  ws = await openWorkspace({ dir: tmp.path, clock });
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

const yaml = `schedules:
  nightly:
    pipeline: train
    cron: "0 * * * *"
    timezone: Europe/Paris
triggers:
  fresh-data:
    pipeline: train
    on: { dataset: flights }
`;

describe("scheduler", () => {
  it("fires on time, once after downtime, never overlapping, and on a new dataset version", async () => {
    const train = definePipeline({
      name: "train",
      steps: { t: step({ run: "sleep 0.3; date +%s%N > out.txt", outs: ["out.txt"] }) },
    });
    const s = createScheduler(pipelineDeps(ws), {
      automation: parseAutomationYaml(yaml),
      pipelines: new Map([["train", train]]),
    });
    expect(await s.tick()).toEqual([]); // first sight: starts counting from now

    clock.set(Date.parse("2026-03-10T11:00:05Z"));
    const fired = await s.tick();
    expect(fired).toMatchObject([
      { kind: "schedule", action: "fire", cause: { scheduledAt: "2026-03-10T11:00:00.000Z" } },
    ]);
    // Still running at the next due time: skipped, not stacked.
    clock.set(Date.parse("2026-03-10T12:00:01Z"));
    expect(await s.tick()).toMatchObject([{ action: "skip" }]);
    await s.idle();

    // Down for a day: one run for the latest due time.
    clock.set(Date.parse("2026-03-11T12:30:00Z"));
    const after = await s.tick();
    expect(after).toHaveLength(1);
    expect(after[0]?.cause).toMatchObject({ scheduledAt: "2026-03-11T12:00:00.000Z" });
    await s.idle();

    await ws.audit.record({ actor: "alice", action: "data.version.create", target: "dataset:flights" });
    await ws.audit.record({ actor: "alice", action: "data.version.create", target: "dataset:other" });
    const triggered = await s.tick();
    expect(triggered).toMatchObject([
      { kind: "trigger", name: "fresh-data", action: "fire", cause: { eventTarget: "dataset:flights" } },
    ]);
    await s.idle();
    expect(await s.tick()).toEqual([]);

    const actions = (await ws.audit.list({ target: "pipeline:train" })).map((e) => e.action);
    expect(actions).toEqual([
      "pipeline.schedule.fire",
      "pipeline.schedule.skip",
      "pipeline.schedule.fire",
      "pipeline.trigger.fire",
    ]);
    const runs = await ws.store.db.selectFrom("pipeline_runs").select("status").execute();
    expect(runs.map((r) => r.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
  });

  it("rejects a malformed cron with its line, and a trigger without an event", () => {
    expect(() => parseAutomationYaml('schedules:\n  s:\n    pipeline: p\n    cron: "0 25 * * *"\n')).toThrow(
      /loopml.yaml:4 schedules.s.cron: Cron "0 25 \* \* \*": hour "25" is outside 0-23/,
    );
    expect(() => parseAutomationYaml("triggers:\n  t:\n    pipeline: p\n    on: {}\n")).toThrow(
      /triggers.t.on: needs one of/,
    );
  });
});
