// Pure planning: desired resources vs observed ones → the create/update/delete actions apply would take.
import { canonicalJson } from "../_internal/hash.ts";

export type ResourceKind = "dataset" | "model" | "deployment" | "monitor" | "retrain";
/** Creation order; removal runs in reverse (a monitor goes before the deployment it watches). */
export const KIND_ORDER: readonly ResourceKind[] = ["dataset", "model", "deployment", "monitor", "retrain"];

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface Resource {
  readonly kind: ResourceKind;
  readonly name: string;
  readonly spec: JsonObject;
}

export interface ObservedResource extends Resource {
  /** Declared by loopml.yaml at the last apply: only managed resources are ever removed. */
  readonly managed: boolean;
  /** The spec the last apply wrote, when managed: keys absent from it and from the file are the service's defaults. */
  readonly applied?: JsonObject;
  /** What removing it would lose, e.g. "3 versions"; absent when it holds nothing. */
  readonly holds?: string;
}

export interface FieldChange {
  readonly path: string;
  readonly before: Json | undefined;
  readonly after: Json | undefined;
}

export interface PlanAction {
  readonly op: "create" | "update" | "adopt" | "delete";
  readonly kind: ResourceKind;
  readonly name: string;
  readonly before?: JsonObject;
  readonly after?: JsonObject;
  readonly changes: readonly FieldChange[];
  /** Set on a delete of something holding data: apply refuses it without --allow-destroy. */
  readonly destroys?: string;
}

export interface Plan {
  readonly actions: readonly PlanAction[];
  /** Resources already as declared. */
  readonly unchanged: number;
  readonly summary: { create: number; update: number; delete: number };
}

/**
 * @example
 * const plan = computePlan(desiredResources(file), await observe(ws));
 * plan.actions.filter((a) => a.op === "delete" && a.destroys);
 */
export function computePlan(desired: readonly Resource[], observed: readonly ObservedResource[]): Plan {
  const key = (r: Resource): string => `${r.kind}:${r.name}`;
  const current = new Map(observed.map((r) => [key(r), r]));
  const wanted = new Set(desired.map(key));
  const actions: PlanAction[] = [];
  let unchanged = 0;
  for (const d of desired) {
    const c = current.get(key(d));
    if (!c) {
      actions.push({
        op: "create",
        kind: d.kind,
        name: d.name,
        after: d.spec,
        changes: diffSpecs({}, d.spec),
      });
      continue;
    }
    const live = withoutServiceDefaults(c.spec, d.spec, c.applied);
    const changes = diffSpecs(live, d.spec);
    if (changes.length > 0)
      actions.push({ op: "update", kind: d.kind, name: d.name, before: live, after: d.spec, changes });
    else if (!c.managed)
      actions.push({ op: "adopt", kind: d.kind, name: d.name, before: live, after: d.spec, changes });
    else unchanged++;
  }
  for (const c of observed) {
    if (!c.managed || wanted.has(key(c))) continue;
    actions.push({
      op: "delete",
      kind: c.kind,
      name: c.name,
      before: c.spec,
      changes: diffSpecs(c.spec, {}),
      ...(c.holds !== undefined && { destroys: c.holds }),
    });
  }
  actions.sort(byApplyOrder);
  const count = (op: PlanAction["op"]): number => actions.filter((a) => a.op === op).length;
  return {
    actions,
    unchanged,
    summary: { create: count("create"), update: count("update") + count("adopt"), delete: count("delete") },
  };
}

function byApplyOrder(a: PlanAction, b: PlanAction): number {
  const rank = (x: PlanAction): number => {
    const i = KIND_ORDER.indexOf(x.kind);
    // Deletes run after every create/update, dependants first.
    return x.op === "delete" ? 100 + (KIND_ORDER.length - i) : i;
  };
  return rank(a) - rank(b) || a.name.localeCompare(b.name);
}

/** Drops keys the service filled in by itself: absent from the file and from what apply last wrote. */
function withoutServiceDefaults(
  live: JsonObject,
  desired: JsonObject,
  applied: JsonObject | undefined,
): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(live)) {
    if (!(k in desired) && (applied === undefined || !(k in applied))) continue;
    out[k] = v;
  }
  return out;
}

/** Leaf-level differences, paths like "canary.weight"; arrays compare whole. */
export function diffSpecs(before: JsonObject, after: JsonObject, prefix = ""): FieldChange[] {
  const out: FieldChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const k of keys) {
    const a = before[k];
    const b = after[k];
    const path = prefix === "" ? k : `${prefix}.${k}`;
    if (isObject(a) && isObject(b)) out.push(...diffSpecs(a, b, path));
    else if (isObject(a) && b === undefined) out.push(...diffSpecs(a, {}, path));
    else if (a === undefined && isObject(b)) out.push(...diffSpecs({}, b, path));
    else if (canonicalJson(a ?? null) !== canonicalJson(b ?? null) || (a === undefined) !== (b === undefined))
      out.push({ path, before: a, after: b });
  }
  return out;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A JSON copy without undefined values, so specs compare by content. */
export function toJsonObject(v: object): JsonObject {
  return JSON.parse(JSON.stringify(v)) as JsonObject;
}
