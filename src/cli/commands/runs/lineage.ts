// loopml runs lineage RUN: the DAG of a pipeline run, each step's inputs and outputs by content id, traced to datasets.
import type { Command } from "commander";
import {
  resolvePipelineRunId,
  runLineage,
  traceOutput,
  type OutputTrace,
  type RunLineage,
} from "../../../pipeline/lineage.ts";
import { withWorkspace } from "../../context.ts";
import { emit } from "../../output.ts";

/** Adds `lineage` under `loopml runs`. */
export function registerRunsLineageCommand(runs: Command): void {
  runs
    .command("lineage")
    .description(
      "the DAG of a pipeline run: each step's inputs and outputs by content id, and every output traced back to the dataset versions it came from",
    )
    .argument("<run>", "a pipeline run id, its tracked run id, or a step's nested run id")
    .option("--output <pathOrId>", "only trace this output (a path or content id)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  loopml runs lineage 01JD…\n  loopml runs lineage 01JD… --output build/model.json --json",
    )
    .exitOverride()
    .action(async (id: string, opts: { output?: string; json?: boolean }, cmd: Command) => {
      const lineage = await withWorkspace(cmd, async (ws) =>
        runLineage(ws.store, await resolvePipelineRunId(ws.store, id)),
      );
      const outputs = lineage.steps.flatMap((s) => s.outputs.map((o) => o.path));
      const traces =
        opts.output !== undefined
          ? [traceOutput(lineage, opts.output)]
          : outputs.map((p) => traceOutput(lineage, p));
      emit(opts.json === true, { ...lineage, traces }, () => render(lineage, traces, opts.output));
    });
}

function render(lineage: RunLineage, traces: readonly OutputTrace[], only?: string): string {
  const short = (id: string): string => id.slice(0, 12);
  const lines: string[] = [];
  if (only === undefined) {
    lines.push(
      `pipeline run ${lineage.runId}: ${lineage.pipeline} version ${short(lineage.version)}, ${lineage.status}`,
    );
    for (const s of lineage.steps) {
      lines.push(`${s.step} [${s.status}${s.cacheHit ? ", reused" : ""}]`);
      for (const i of s.inputs) lines.push(`  in  ${i.dep} ${short(i.id)}${i.from ? ` ← ${i.from}` : ""}`);
      for (const o of s.outputs) lines.push(`  out ${o.path} ${short(o.id)}`);
    }
    if (traces.length > 0) lines.push("", "outputs back to their sources:");
  }
  for (const t of traces) {
    const datasets = t.sources.filter((s) => s.dep.startsWith("dataset:"));
    const files = t.sources.filter((s) => !s.dep.startsWith("dataset:"));
    lines.push(`${t.output.path} ${short(t.output.id)} ← ${t.steps.join(" ← ")}`);
    for (const d of datasets)
      lines.push(`  dataset ${d.dep.slice("dataset:".length)} version ${short(d.id)}`);
    for (const f of files) lines.push(`  file    ${f.dep} ${short(f.id)}`);
  }
  return lines.join("\n");
}
