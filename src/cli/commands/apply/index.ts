// loopml apply: converge the stores to loopml.yaml, one audit event per change; a second apply changes nothing.
import type { Command } from "commander";
import { applyPlan } from "../../../loop/apply.ts";
import { formatPlan } from "../../../loop/format-plan.ts";
import { createLoopPorts } from "../../../loop/ports.ts";
import { loadDesiredState, planProject } from "../../../loop/project.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

export function registerApplyCommand(program: Command): void {
  program
    .command("apply")
    .description("create, change and remove what loopml.yaml declares (see loopml plan first)")
    .option("--allow-destroy", "allow removing datasets and models that hold versions")
    .option("--json", "print the applied plan as JSON")
    .addHelpText(
      "after",
      "\nExample:\n  loopml plan && loopml apply\n  loopml apply --allow-destroy   # after removing a model from loopml.yaml",
    )
    .exitOverride()
    .action(async (opts: { allowDestroy?: boolean; json?: boolean }, cmd: Command) => {
      const allowDestroy = opts.allowDestroy === true;
      const plan = await withWorkspace(cmd, async (ws) => {
        const ports = createLoopPorts(ws);
        const p = await planProject(ws, ports, await loadDesiredState(ws.config.projectDir));
        await applyPlan(ws, ports, p, {
          allowDestroy,
          ...(opts.json !== true && {
            onAction: (a) => process.stderr.write(`${a.op} ${a.kind} "${a.name}"\n`),
          }),
        });
        return p;
      });
      emit(opts.json === true, plan, () =>
        plan.actions.length === 0
          ? formatPlan(plan)
          : `${formatPlan(plan, { allowDestroy }).replace("loopml will perform these actions:", "Applied:")}Apply complete: ${plan.summary.create} created, ${plan.summary.update} changed, ${plan.summary.delete} removed.`,
      );
    });
}
