// plan/apply over a real workspace (datasets, registry) with in-memory deployment and monitor services.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir } from "../../test/setup/tmp.ts";
import { createManualClock, createSequentialIds } from "../_internal/clock.ts";
import { silentLogger } from "../_internal/logger.ts";
import { isLoopmlError } from "../errors.ts";
import { createRegistryEvents } from "../registry/events.ts";
import { createRegistryService } from "../registry/service.ts";
import { openWorkspace, type Workspace } from "../workspace.ts";
import { applyPlan } from "./apply.ts";
import { createMemoryPort, type DeploymentSpec, type MonitorSpec } from "./contracts.ts";
import { EXAMPLE } from "./testing/example.ts";
import { parseDesiredState } from "./desired-state.ts";
import { formatPlan } from "./format-plan.ts";
import type { LoopPorts } from "./observe.ts";
import { planProject } from "./project.ts";

let tmp: { path: string; remove(): void };
let ws: Workspace;
let ports: LoopPorts;

beforeEach(async () => {
  tmp = makeTempDir();
  ws = await openWorkspace({
    dir: tmp.path,
    clock: createManualClock(),
    ids: createSequentialIds(),
    logger: silentLogger,
    env: {},
  });
  await mkdir(join(tmp.path, "data"));
  await writeFile(join(tmp.path, "data", "flights.csv"), "distance,late\n100,0\n200,1\n");
  ports = {
    registry: createRegistryService({ ...ws, events: createRegistryEvents() }),
    deployments: createMemoryPort<DeploymentSpec>(),
    monitors: createMemoryPort<MonitorSpec>(),
  };
});
afterEach(async () => {
  await ws.close();
  tmp.remove();
});

const apply = async (text: string, allowDestroy = false) => {
  const plan = await planProject(ws, ports, parseDesiredState(text));
  await applyPlan(ws, ports, plan, { allowDestroy });
  return plan;
};

describe("plan and apply", () => {
  it("creates everything, then a second apply has nothing to do", async () => {
    const first = await planProject(ws, ports, parseDesiredState(EXAMPLE));
    expect(first.actions.map((a) => `${a.op} ${a.kind}:${a.name}`)).toEqual([
      "create dataset:flights",
      "create model:flights-delay",
      "create deployment:web",
      "create monitor:web-drift",
      "create retrain:flights-delay",
    ]);
    expect(formatPlan(first)).toMatch(/\+ deployment "web"\n.*\+ canary\.weight = 0\.1/s);
    await applyPlan(ws, ports, first);
    expect((await ports.deployments.list())[0]).toMatchObject({ name: "web", canary: { weight: 0.1 } });
    expect((await ports.deployments.list())[0]).not.toHaveProperty("replicas");
    expect((await ports.registry.getModel("flights-delay")).policy.metricRules).toEqual([
      { metric: "auc", op: ">=" },
    ]);
    expect(
      (await ws.store.db.selectFrom("datasets").select("latest_seq").executeTakeFirst())?.latest_seq,
    ).toBe(1);
    const events = await ws.audit.list({ limit: 1000 });
    expect(events.filter((e) => e.action.startsWith("apply.")).map((e) => e.target)).toEqual(
      first.actions.map((a) => `${a.kind}:${a.name}`),
    );

    const second = await planProject(ws, ports, parseDesiredState(EXAMPLE));
    expect(second.actions).toEqual([]);
    expect(formatPlan(second)).toMatch(/^No changes\. .*\(5 resources\)/);
    expect((await ws.audit.verify()).ok).toBe(true);
  });

  it("changes only what the file changed", async () => {
    await apply(EXAMPLE);
    const edited = EXAMPLE.replace("weight: 0.1", "weight: 0.25").replace(
      "driftShare: 0.3",
      "driftShare: 0.5",
    );
    const plan = await apply(edited);
    expect(plan.actions.map((a) => [a.op, a.name, a.changes.map((c) => c.path)])).toEqual([
      ["update", "web", ["canary.weight"]],
      ["update", "web-drift", ["driftShare"]],
    ]);
    expect(formatPlan(plan)).toMatch(/~ canary\.weight = 0\.1 → 0\.25/);
    expect((await ports.monitors.list())[0]?.driftShare).toBe(0.5);
    expect((await planProject(ws, ports, parseDesiredState(edited))).actions).toEqual([]);
  });

  it("sees a change made behind its back and puts it back", async () => {
    await apply(EXAMPLE);
    await ports.deployments.upsert({ name: "web", model: "flights-delay@staging" });
    const plan = await planProject(ws, ports, parseDesiredState(EXAMPLE));
    expect(plan.actions.map((a) => a.changes.map((c) => c.path))).toEqual([
      ["canary.model", "canary.weight", "model"],
    ]);
  });

  it("needs --allow-destroy to remove what holds data, and removes nothing without it", async () => {
    await apply(EXAMPLE);
    await ports.registry.createVersion("flights-delay", { source: "file:m.json", metrics: { auc: 0.7 } });
    const without = EXAMPLE.replace(/retrain:[\s\S]*$/, "")
      .replace(/deployments:[\s\S]*?schedules:/, "schedules:")
      .replace(/models:[\s\S]*?schedules:/, "schedules:");
    const e = await apply(without).catch((err: unknown) => err);
    expect(isLoopmlError(e, "FAILED_PRECONDITION")).toBe(true);
    expect((e as Error).message).toMatch(/model "flights-delay" \(1 version\)/);
    expect(await ports.deployments.list()).toHaveLength(1);

    const plan = await apply(without, true);
    expect(plan.actions.map((a) => `${a.op} ${a.kind}:${a.name}`)).toEqual([
      "delete retrain:flights-delay",
      "delete monitor:web-drift",
      "delete deployment:web",
      "delete model:flights-delay",
    ]);
    expect(await ports.registry.listModels()).toEqual([]);
    expect(await ports.deployments.list()).toEqual([]);
    expect((await planProject(ws, ports, parseDesiredState(without))).actions).toEqual([]);
  });

  it("adopts a model that already exists and never removes what it does not manage", async () => {
    await ports.registry.createModel("flights-delay", {
      description: "late flights",
      policy: { metricRules: [{ metric: "auc", op: ">=" }] },
    });
    await ports.registry.createModel("hand-made");
    const plan = await apply(EXAMPLE);
    expect(plan.actions.find((a) => a.kind === "model")?.op).toBe("adopt");
    expect(plan.actions.some((a) => a.name === "hand-made")).toBe(false);
    expect((await planProject(ws, ports, parseDesiredState(EXAMPLE))).actions).toEqual([]);
  });
});
