// The project-level entry points of plan/apply: read loopml.yaml, observe the stores, plan, apply.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CONFIG_FILE } from "../config.ts";
import { LoopmlError } from "../errors.ts";
import type { Workspace } from "../workspace.ts";
import { applyPlan, type ApplyOptions, type ApplyResult } from "./apply.ts";
import { parseDesiredState, type DesiredState } from "./desired-state.ts";
import { observeState, type LoopPorts } from "./observe.ts";
import { computePlan, type Plan } from "./plan.ts";
import { desiredResources } from "./resources.ts";

export async function loadDesiredState(projectDir: string): Promise<DesiredState> {
  let text: string;
  try {
    text = await readFile(join(projectDir, CONFIG_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new LoopmlError("NOT_FOUND", `No ${CONFIG_FILE} in ${projectDir}. Create one with loopml init.`);
    throw e;
  }
  return parseDesiredState(text, CONFIG_FILE);
}

/**
 * @example
 * const plan = await planProject(ws, ports, await loadDesiredState(ws.config.projectDir));
 * console.log(formatPlan(plan));
 */
export async function planProject(ws: Workspace, ports: LoopPorts, desired: DesiredState): Promise<Plan> {
  return computePlan(desiredResources(desired.file), await observeState(ws, ports));
}

/** Plans and applies in one go; returns the plan that was applied. */
export async function applyProject(
  ws: Workspace,
  ports: LoopPorts,
  desired: DesiredState,
  opts: ApplyOptions = {},
): Promise<{ plan: Plan; result: ApplyResult }> {
  const plan = await planProject(ws, ports, desired);
  return { plan, result: await applyPlan(ws, ports, plan, opts) };
}
