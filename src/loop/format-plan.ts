// Prints a plan the way Terraform does: + create, ~ update, - delete, one line per changed field.
import type { Json, Plan, PlanAction } from "./plan.ts";

const SYMBOL: Readonly<Record<PlanAction["op"], string>> = {
  create: "+",
  update: "~",
  adopt: "~",
  delete: "-",
};

export function formatPlan(plan: Plan, opts: { allowDestroy?: boolean } = {}): string {
  if (plan.actions.length === 0)
    return `No changes. The current state matches loopml.yaml (${plan.unchanged} resource${plan.unchanged === 1 ? "" : "s"}).\n`;
  const lines: string[] = ["loopml will perform these actions:", ""];
  for (const a of plan.actions) {
    const note =
      a.op === "adopt"
        ? " (exists already: will be managed by loopml.yaml)"
        : a.op === "delete" && a.destroys !== undefined
          ? ` (destroys ${a.destroys}${opts.allowDestroy === true ? "" : ": needs --allow-destroy"})`
          : a.op === "delete"
            ? " (no longer in loopml.yaml)"
            : "";
    lines.push(`  ${SYMBOL[a.op]} ${a.kind} "${a.name}"${note}`);
    if (a.op !== "delete")
      for (const c of a.changes) {
        const sym = c.before === undefined ? "+" : c.after === undefined ? "-" : "~";
        const value =
          sym === "+" ? show(c.after) : sym === "-" ? show(c.before) : `${show(c.before)} → ${show(c.after)}`;
        lines.push(`      ${sym} ${c.path} = ${value}`);
      }
    lines.push("");
  }
  const s = plan.summary;
  lines.push(`Plan: ${s.create} to create, ${s.update} to change, ${s.delete} to remove.`);
  return `${lines.join("\n")}\n`;
}

function show(v: Json | undefined): string {
  return v === undefined ? "(none)" : JSON.stringify(v);
}
