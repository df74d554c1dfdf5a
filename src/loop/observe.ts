// Reads the current state plan/apply compare against: datasets, models, deployments, monitors and retrain policies.
import { listDatasets } from "../data/repo.ts";
import type { RegistryService } from "../registry/service.ts";
import type { Workspace } from "../workspace.ts";
import type { DeploymentPort, MonitorPort } from "./contracts.ts";
import { modelSpec } from "./resources.ts";
import { toJsonObject, type JsonObject, type ObservedResource, type ResourceKind } from "./plan.ts";

export interface LoopPorts {
  readonly registry: RegistryService;
  readonly deployments: DeploymentPort;
  readonly monitors: MonitorPort;
}

/** The specs the last apply wrote, by "kind:name". */
export async function appliedSpecs(ws: Workspace): Promise<Map<string, JsonObject>> {
  const rows = await ws.store.db.selectFrom("loop_resources").selectAll().execute();
  return new Map(rows.map((r) => [`${r.kind}:${r.name}`, JSON.parse(r.spec) as JsonObject]));
}

/**
 * @example
 * const plan = computePlan(desiredResources(desired.file), await observeState(ws, ports));
 */
export async function observeState(ws: Workspace, ports: LoopPorts): Promise<ObservedResource[]> {
  const applied = await appliedSpecs(ws);
  const out: ObservedResource[] = [];
  const push = (kind: ResourceKind, name: string, spec: JsonObject, holds?: string): void => {
    const last = applied.get(`${kind}:${name}`);
    out.push({
      kind,
      name,
      spec,
      managed: last !== undefined,
      ...(last !== undefined && { applied: last }),
      ...(holds !== undefined && { holds }),
    });
  };
  for (const d of await listDatasets(ws.store.db))
    push("dataset", d.name, { path: d.path }, d.latestSeq > 0 ? plural(d.latestSeq, "version") : undefined);
  for (const m of await ports.registry.listModels())
    push(
      "model",
      m.name,
      modelSpec(m.description, m.tags, m.policy),
      m.latestVersion > 0 ? plural(m.latestVersion, "version") : undefined,
    );
  for (const d of await ports.deployments.list()) {
    const { name, ...rest } = d;
    // replicas are not the service's: they live in the applied spec only.
    const replicas = applied.get(`deployment:${name}`)?.["replicas"];
    push("deployment", name, toJsonObject({ ...rest, ...(replicas !== undefined && { replicas }) }));
  }
  for (const m of await ports.monitors.list()) {
    const { name, ...rest } = m;
    push("monitor", name, toJsonObject(rest));
  }
  for (const [key, spec] of applied) {
    const [kind, name] = splitKey(key);
    if (kind === "retrain") push("retrain", name, spec);
  }
  return out;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(":");
  return [key.slice(0, i), key.slice(i + 1)];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
