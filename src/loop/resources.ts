// Turns the validated loopml.yaml into plan resources: one normalised JSON spec per declared thing.
import { parsePolicy } from "../registry/gates.ts";
import type { DeploymentSpec, MonitorSpec } from "./contracts.ts";
import type { LoopmlFile } from "./desired-state.ts";
import { toJsonObject, type JsonObject, type Resource } from "./plan.ts";

/** The keys of a deployment that the deployment service stores; the rest (replicas) only feeds manifests. */
export const DEPLOYMENT_SERVICE_KEYS = ["model", "canary", "shadow", "rollback", "logging"] as const;

export function desiredResources(file: LoopmlFile): Resource[] {
  const out: Resource[] = [];
  for (const [name, d] of Object.entries(file.datasets ?? {}))
    out.push({ kind: "dataset", name, spec: toJsonObject({ path: d.path }) });
  for (const [name, m] of Object.entries(file.models ?? {}))
    out.push({
      kind: "model",
      name,
      spec: modelSpec(m.description ?? "", m.tags ?? {}, parsePolicy(m.gate)),
    });
  for (const [name, d] of Object.entries(file.deployments ?? {}))
    out.push({ kind: "deployment", name, spec: toJsonObject(d) });
  for (const [name, m] of Object.entries(file.monitors ?? {}))
    out.push({ kind: "monitor", name, spec: toJsonObject(m) });
  for (const [name, r] of Object.entries(file.retrain ?? {}))
    out.push({ kind: "retrain", name, spec: toJsonObject(r) });
  return out;
}

export function modelSpec(
  description: string,
  tags: Readonly<Record<string, string>>,
  gate: object,
): JsonObject {
  return toJsonObject({ description, tags, gate });
}

export function deploymentFromSpec(name: string, spec: JsonObject): DeploymentSpec {
  const picked: Record<string, unknown> = { name };
  for (const k of DEPLOYMENT_SERVICE_KEYS) if (spec[k] !== undefined) picked[k] = spec[k];
  return picked as unknown as DeploymentSpec;
}

export function monitorFromSpec(name: string, spec: JsonObject): MonitorSpec {
  return { ...(spec as unknown as Omit<MonitorSpec, "name">), name };
}
