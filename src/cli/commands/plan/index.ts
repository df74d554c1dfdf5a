// loopml plan: what apply would change to make the stores match loopml.yaml (pure; changes nothing).
import type { Command } from "commander";
import { formatPlan } from "../../../loop/format-plan.ts";
import { createLoopPorts } from "../../../loop/ports.ts";
import { loadDesiredState, planProject } from "../../../loop/project.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

export function registerPlanCommand(program: Command): void {
  program
    .command("plan")
    .description("show what loopml apply would create, change or remove to match loopml.yaml")
    .option("--json", "print the plan as JSON")
    .option("--detailed-exitcode", "exit 2 when there are changes (like terraform plan)")
    .addHelpText("after", "\nExample:\n  loopml plan\n  loopml plan --json | jq '.actions[].op'")
    .exitOverride()
    .action(async (opts: { json?: boolean; detailedExitcode?: boolean }, cmd: Command) => {
      const plan = await withWorkspace(cmd, async (ws) =>
        planProject(ws, createLoopPorts(ws), await loadDesiredState(ws.config.projectDir)),
      );
      emit(opts.json === true, plan, () => formatPlan(plan));
      if (opts.detailedExitcode === true && plan.actions.length > 0) process.exitCode = 2;
    });
}
