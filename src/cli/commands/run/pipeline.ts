// loopml pipeline list | runs | lineage: the pipelines of loopml.yaml and what their runs read and wrote.
import type { Command } from "commander";
import { LoopmlError } from "../../../errors.ts";
import { runLineage, traceOutput } from "../../../pipeline/lineage.ts";
import { pipelineVersion } from "../../../pipeline/plan.ts";
import type { PipelineSpec } from "../../../pipeline/types.ts";
import type { Workspace } from "../../../workspace.ts";
import { withWorkspace } from "../../context.ts";
import { emit, table } from "../../output.ts";

export function registerPipelineCommands(
  program: Command,
  loadPipelines: (ws: Workspace) => Map<string, PipelineSpec>,
): void {
  const pipeline = program
    .command("pipeline")
    .description("pipelines declared in loopml.yaml, their runs and lineage")
    .exitOverride();

  pipeline
    .command("list")
    .description("list the pipelines of loopml.yaml with their versions and steps")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml pipeline list")
    .exitOverride()
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const rows = await withWorkspace(cmd, (ws) =>
        Promise.resolve(
          [...loadPipelines(ws).values()].map((p) => ({
            name: p.name,
            version: pipelineVersion(p),
            steps: p.steps.map((s) => s.name),
          })),
        ),
      );
      emit(opts.json === true, rows, () =>
        rows.length === 0
          ? "no pipelines in loopml.yaml"
          : table(
              ["PIPELINE", "VERSION", "STEPS"],
              rows.map((r) => [r.name, r.version.slice(0, 12), r.steps.join(", ")]),
            ),
      );
    });

  pipeline
    .command("runs")
    .description("list pipeline runs, newest first")
    .argument("[pipeline]", "only runs of this pipeline")
    .option("--limit <n>", "at most this many runs", (v) => Number(v), 20)
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  loopml pipeline runs train --limit 5")
    .exitOverride()
    .action(async (name: string | undefined, opts: { limit: number; json?: boolean }, cmd: Command) => {
      if (!Number.isInteger(opts.limit) || opts.limit < 1)
        throw new LoopmlError("INVALID_ARGUMENT", "--limit must be a whole number ≥ 1.");
      const rows = await withWorkspace(cmd, (ws) => {
        let q = ws.store.db
          .selectFrom("pipeline_runs")
          .select(["id", "pipeline", "version", "status", "started_at", "ended_at", "actor"])
          .orderBy("started_at", "desc")
          .limit(opts.limit);
        if (name !== undefined) q = q.where("pipeline", "=", name);
        return q.execute();
      });
      emit(opts.json === true, rows, () =>
        rows.length === 0
          ? "no pipeline runs"
          : table(
              ["RUN", "PIPELINE", "VERSION", "STATUS", "STARTED", "SECONDS"],
              rows.map((r) => [
                r.id,
                r.pipeline,
                r.version.slice(0, 12),
                r.status,
                new Date(r.started_at).toISOString(),
                r.ended_at === null ? "-" : ((r.ended_at - r.started_at) / 1000).toFixed(1),
              ]),
            ),
      );
    });

  pipeline
    .command("lineage")
    .description("the DAG of a pipeline run: each step's inputs and outputs by content id")
    .argument("<run>", "a pipeline run id (printed by loopml run)")
    .option("--output <pathOrId>", "trace one output back to the files and dataset versions it came from")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml pipeline lineage 3f2a…\n  loopml pipeline lineage 3f2a… --output build/model.json",
    )
    .exitOverride()
    .action(async (runId: string, opts: { output?: string; json?: boolean }, cmd: Command) => {
      const lineage = await withWorkspace(cmd, (ws) => runLineage(ws.store, runId));
      if (opts.output !== undefined) {
        const trace = traceOutput(lineage, opts.output);
        emit(opts.json === true, trace, () =>
          [
            `${trace.output.path} ${trace.output.id.slice(0, 12)} ← written by ${trace.output.step}`,
            `  through steps: ${trace.steps.join(" ← ")}`,
            ...trace.sources.map((s) => `  from ${s.dep} ${s.id.slice(0, 12)}`),
          ].join("\n"),
        );
        return;
      }
      emit(opts.json === true, lineage, () =>
        [
          `run ${lineage.runId} of ${lineage.pipeline} (version ${lineage.version.slice(0, 12)}): ${lineage.status}`,
          ...lineage.steps.flatMap((s) => [
            `${s.step} [${s.status}${s.cacheHit ? ", reused" : ""}]${s.cacheKey ? ` key ${s.cacheKey.slice(0, 12)}` : ""}`,
            ...s.inputs.map((i) => `  in  ${i.dep} ${i.id.slice(0, 12)}${i.from ? ` ← ${i.from}` : ""}`),
            ...s.outputs.map((o) => `  out ${o.path} ${o.id.slice(0, 12)} (${o.kind})`),
          ]),
        ].join("\n"),
      );
    });
}
