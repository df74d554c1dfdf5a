// Converges the current state to the plan: one service call and one audit event per change, in plan order.
import { join } from "node:path";
import type { Kysely } from "kysely";
import { canonicalJson } from "../_internal/hash.ts";
import { createDataService } from "../data/service.ts";
import { LoopmlError } from "../errors.ts";
import type { Database } from "../store/types.ts";
import type { Workspace } from "../workspace.ts";
import type { LoopPorts } from "./observe.ts";
import type { Json, JsonObject, Plan, PlanAction } from "./plan.ts";
import { deploymentFromSpec, monitorFromSpec } from "./resources.ts";

export interface ApplyOptions {
  /** Lets apply delete resources that hold data (dataset or model versions). */
  readonly allowDestroy?: boolean;
  readonly onAction?: (action: PlanAction) => void;
}

export interface ApplyResult {
  readonly applied: readonly PlanAction[];
}

/**
 * Refuses the whole plan up front when it would destroy data without `allowDestroy`, so nothing is half-applied.
 * @example
 * const plan = await planProject(ws, ports, desired);
 * await applyPlan(ws, ports, plan, { allowDestroy: false });
 */
export async function applyPlan(
  ws: Workspace,
  ports: LoopPorts,
  plan: Plan,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const destroying = plan.actions.filter((a) => a.op === "delete" && a.destroys !== undefined);
  if (destroying.length > 0 && opts.allowDestroy !== true)
    throw new LoopmlError(
      "FAILED_PRECONDITION",
      `The plan removes ${destroying.map((a) => `${a.kind} "${a.name}" (${a.destroys ?? ""})`).join(", ")}, which holds data. Nothing was changed: run again with --allow-destroy, or put it back into loopml.yaml.`,
      { resources: destroying.map((a) => `${a.kind}:${a.name}`) },
    );
  const applied: PlanAction[] = [];
  for (const action of plan.actions) {
    opts.onAction?.(action);
    await execute(ws, ports, action);
    applied.push(action);
  }
  return { applied };
}

async function execute(ws: Workspace, ports: LoopPorts, a: PlanAction): Promise<void> {
  const spec = a.after ?? {};
  // The service call first: if it fails, the resource is not recorded as applied and the next plan retries it.
  let extra: (tx: Kysely<Database>) => Promise<void> = () => Promise.resolve();
  switch (a.kind) {
    case "dataset":
      if (a.op === "create") await createDataset(ws, a.name, spec);
      else if (a.op === "update")
        throw new LoopmlError(
          "FAILED_PRECONDITION",
          `Dataset "${a.name}" is versioned from ${text(a.before?.["path"])}; its path cannot change. Declare a new dataset for ${text(spec["path"])}.`,
        );
      else if (a.op === "delete") extra = (tx) => destroyDataset(tx, a.name);
      break;
    case "model":
      if (a.op === "create")
        await ports.registry.createModel(a.name, {
          description: text(spec["description"]),
          tags: (spec["tags"] ?? {}) as Record<string, string>,
          policy: spec["gate"],
        });
      else if (a.op === "update") {
        if (a.changes.some((c) => c.path.startsWith("gate")))
          await ports.registry.setPolicy(a.name, spec["gate"]);
        if (a.changes.some((c) => c.path === "description" || c.path.startsWith("tags")))
          extra = (tx) => updateModelLabels(tx, ws, a.name, spec);
      } else if (a.op === "delete") extra = (tx) => destroyModel(tx, a.name);
      break;
    case "deployment":
      if (a.op === "delete") await ports.deployments.remove(a.name);
      else if (a.op !== "adopt" || a.changes.length > 0)
        await ports.deployments.upsert(deploymentFromSpec(a.name, spec));
      break;
    case "monitor":
      if (a.op === "delete") await ports.monitors.remove(a.name);
      else if (a.op !== "adopt") await ports.monitors.upsert(monitorFromSpec(a.name, spec));
      break;
    case "retrain":
      break;
  }
  await ws.store.transaction(async (tx) => {
    await extra(tx);
    if (a.op === "delete") {
      await tx.deleteFrom("loop_resources").where("kind", "=", a.kind).where("name", "=", a.name).execute();
    } else {
      const row = { spec: canonicalJson(spec), updated_at: ws.clock.now(), updated_by: ws.config.actor };
      await tx
        .insertInto("loop_resources")
        .values({ kind: a.kind, name: a.name, ...row })
        .onConflict((oc) => oc.columns(["kind", "name"]).doUpdateSet(row))
        .execute();
    }
    await ws.audit.append(tx, {
      actor: ws.config.actor,
      action: `apply.${a.op}`,
      target: `${a.kind}:${a.name}`,
      details: {
        changes: a.changes.map((c) => ({ path: c.path, before: c.before ?? null, after: c.after ?? null })),
        ...(a.destroys !== undefined && { destroyed: a.destroys }),
      },
    });
  });
}

async function createDataset(ws: Workspace, name: string, spec: JsonObject): Promise<void> {
  const path = text(spec["path"]);
  try {
    await createDataService(ws).add(join(ws.config.projectDir, path), {
      name,
      message: "declared in loopml.yaml",
    });
  } catch (e) {
    if (
      (e as NodeJS.ErrnoException).code === "ENOENT" ||
      (e instanceof LoopmlError && e.code === "NOT_FOUND")
    )
      throw new LoopmlError(
        "FAILED_PRECONDITION",
        `Dataset "${name}" is declared at ${path}, which does not exist yet. Create the file, then apply again.`,
      );
    throw e;
  }
}

async function updateModelLabels(
  tx: Kysely<Database>,
  ws: Workspace,
  name: string,
  spec: JsonObject,
): Promise<void> {
  await tx
    .updateTable("registered_models")
    .set({
      description: text(spec["description"]),
      tags: canonicalJson(spec["tags"] ?? {}),
      updated_at: ws.clock.now(),
    })
    .where("name", "=", name)
    .execute();
}

/** The versions' rows go; their chunks stay until `loopml data gc` finds nothing references them. */
async function destroyDataset(tx: Kysely<Database>, name: string): Promise<void> {
  await tx.deleteFrom("dataset_versions").where("dataset", "=", name).execute();
  await tx.deleteFrom("datasets").where("name", "=", name).execute();
}

/** Versions, aliases and pending promotions go; alias history stays, as history. */
async function destroyModel(tx: Kysely<Database>, name: string): Promise<void> {
  await tx.deleteFrom("model_promotions").where("model", "=", name).execute();
  await tx.deleteFrom("model_aliases").where("model", "=", name).execute();
  await tx.deleteFrom("model_versions").where("model", "=", name).execute();
  await tx.deleteFrom("registered_models").where("name", "=", name).execute();
}

function text(v: Json | undefined): string {
  return typeof v === "string" ? v : "";
}
